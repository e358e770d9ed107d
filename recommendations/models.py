from django.conf import settings
from django.db import models
from django.utils import timezone

from interests.models import Channel
from posts.models import Post


class Reason(models.TextChoices):
    """Why a channel is suggested. `joined` and `felt_same` name one of the viewer's own channels
    (their own actions, shown to them alone); the others name a category. None names a person."""

    JOINED = "joined", "because you joined …"
    FELT_SAME = "felt_same", "because you felt the same about posts in …"
    POPULAR = "popular", "popular in …"
    ACTIVE = "active", "active in …"
    NEW = "new", "new in …"


class RecommendationPrefs(models.Model):
    """A person's switch for personalisation, and when their suggestions were last computed.

    No row means the defaults: personalised, never computed.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="recommendation_prefs"
    )
    personalised = models.BooleanField(default=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    # A digest of the stored list (channels, order, reasons): a recompute compares it with the new
    # list's instead of reading every stored row back. Empty when nothing is stored.
    listed = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        verbose_name = "recommendation preferences"
        verbose_name_plural = "recommendation preferences"

    def __str__(self) -> str:
        return f"prefs of {self.user_id}"


class ChannelSuggestion(models.Model):
    """A precomputed "channel for you": written by the recompute, read by the request (rank order).

    Millions of rows are rewritten by each full recompute, so the table carries as few indexes as
    its reads need: the key (user, rank) serves the read, (user, channel) keeps a person's
    suggestions distinct; the foreign keys get no index of their own (a channel's cascade scans)
    and no database constraint: checking three keys for each of two million copied rows was most
    of a first recompute's time. Deleting a person or a channel still deletes their rows (Django's
    cascade); a row left by a person deleted during a recompute is read by nobody, and the next
    full recompute drops it with the other stale rows.
    """

    pk = models.CompositePrimaryKey("user", "rank")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    rank = models.PositiveSmallIntegerField()
    score = models.FloatField()
    reason = models.CharField(max_length=12, choices=Reason.choices)
    via = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "channel"], name="one_suggestion_per_channel")]

    def __str__(self) -> str:
        return f"{self.channel_id} for {self.user_id}"


class ChannelNeighbour(models.Model):
    """Two channels that go together (co-membership of at least MIN_CROWD people, or their words),
    kept so one person's suggestions can be recomputed without the whole graph. Rewritten whole by
    each full recompute: no database constraint on the keys (Django's cascade still applies)."""

    pk = models.CompositePrimaryKey("channel", "neighbour")
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    neighbour = models.ForeignKey(
        Channel, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    score = models.FloatField()

    def __str__(self) -> str:
        return f"{self.channel_id} ~ {self.neighbour_id}"


class NotInterested(models.Model):
    """ "Not interested" on a suggested channel or post: it never comes back, and teaches the model."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(channel__isnull=False, post__isnull=True))
                | (models.Q(channel__isnull=True, post__isnull=False)),
                name="not_interested_in_one_thing",
            ),
            models.UniqueConstraint(
                fields=["user", "channel"], condition=models.Q(channel__isnull=False), name="one_dismissal_per_channel"
            ),
            models.UniqueConstraint(
                fields=["user", "post"], condition=models.Q(post__isnull=False), name="one_dismissal_per_post"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} not interested in {self.channel_id or self.post_id}"


class RecomputeRun(models.Model):
    """One full recompute. `signals_since` counts the signals the per-person recomputes saw after
    it; past a threshold the next full one is enqueued."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    people = models.PositiveIntegerField(default=0)
    channels = models.PositiveIntegerField(default=0)
    signals = models.PositiveIntegerField(default=0)
    signals_since = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"recompute at {self.started_at:%Y-%m-%d %H:%M}"
