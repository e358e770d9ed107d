from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import new_public_id
from interests.models import Channel
from posts.models import Post


class PunchClock(models.Model):
    """A punch channel's own settings: an optional window of local time, and a prompt."""

    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="punch_clock")
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    prompt = models.CharField(max_length=40, blank=True)

    def __str__(self) -> str:
        return f"clock of {self.channel_id}"


class PlaylistEntry(models.Model):
    """A song the host picked, from a music post anywhere on the site, for the channel's punches."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="playlist")
    song_post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "song_post"], name="one_entry_per_song")]

    def __str__(self) -> str:
        return f"{self.song_post_id} in {self.channel_id}"


class Punch(models.Model):
    """One person's punch in a channel on one of their local days.

    `local_date` and `local_seconds` (since local midnight) are fixed at punch time in the
    person's own time zone; the database allows one punch per person, channel and local date.
    `streak` is stored, so it never needs the history scanned.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="punches")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="punches")
    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="punch")
    punched_at = models.DateTimeField()
    local_date = models.DateField()
    local_seconds = models.PositiveIntegerField()
    time_zone = models.CharField(max_length=64)
    streak = models.PositiveIntegerField(default=1)
    rank = models.PositiveIntegerField(default=1)
    song_post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user", "local_date"], name="one_punch_per_day")]
        indexes = [
            models.Index(fields=["channel", "local_date", "local_seconds"], name="punch_board"),
            models.Index(fields=["user", "channel", "-local_date"], name="punch_history"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} punched {self.channel_id} on {self.local_date}"

    @property
    def local_clock(self) -> str:
        """The time on the puncher's own clock, e.g. "06:42"."""
        return f"{self.local_seconds // 3600:02d}:{self.local_seconds % 3600 // 60:02d}"
