from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import new_public_id

from .categories import category_choices


class ChannelKind(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE = "image", _("Photos")
    MUSIC = "music", _("Music")
    MOVIE = "movie", _("Movies")
    VOTE = "vote", _("Voting")
    PUNCH = "punch", _("Punch the clock")


class Channel(models.Model):
    """A place built around a theme or a mood. Its `kind` decides what may be posted in it.

    `name_key` folds case and width ("Insomnia", "ＩＮＳＯＭＮＩＡ"), and is unique. The counters
    are kept by the services in the same transaction as the rows they count.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    name = models.CharField(max_length=40)
    name_key = models.CharField(max_length=80, unique=True, editable=False)
    description = models.CharField(max_length=500, blank=True)
    rule = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=8, choices=ChannelKind.choices)
    category = models.CharField(max_length=20, choices=category_choices())
    cover = models.ImageField(upload_to="covers/", blank=True)
    host = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="hosted_channels"
    )
    member_count = models.PositiveIntegerField(default=0)
    post_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    last_post_at = models.DateTimeField(default=timezone.now)
    is_closed = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["-created_at", "-public_id"], name="channel_new"),
            models.Index(fields=["-last_post_at", "-public_id"], name="channel_active"),
            models.Index(fields=["-member_count", "-public_id"], name="channel_popular"),
            models.Index(fields=["category", "-last_post_at", "-public_id"], name="channel_category_active"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def cover_name(self) -> str:
        """The cover's stored name, "" without one, read without making the FieldFile when it is still a plain name:
        reading `cover` makes one that holds the channel back, a reference cycle left to the garbage collector for
        each channel a page lists."""
        value = self.__dict__.get("cover")
        if type(value) is str:
            return value
        return self.cover.name or "" if self.cover else ""

    @property
    def cover_url(self) -> str:
        """`cover.url`, or "" without a cover, from the stored name (`cover_name`)."""
        name = self.cover_name
        return str(Channel._meta.get_field("cover").storage.url(name)) if name else ""


class Membership(models.Model):
    """A person in a channel. Home shows the posts of the channels one is a member of."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user"], name="one_membership_per_person")]
        indexes = [models.Index(fields=["user", "-joined_at"], name="membership_by_user")]

    def __str__(self) -> str:
        return f"{self.user} in {self.channel}"


class ChannelBan(models.Model):
    """An operator barred someone from one channel: they can't join it or post in it."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="bans")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="channel_bans")
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "user"], name="one_ban_per_person_and_channel")]

    def __str__(self) -> str:
        return f"{self.user} banned from {self.channel}"
