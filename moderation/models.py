from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import new_public_id


class ReportReason(models.TextChoices):
    OFF_TOPIC = "off_topic", _("Doesn't belong in this channel")
    SPAM = "spam", _("Spam or advertising")
    HARASSMENT = "harassment", _("Harassment or bullying")
    HATE = "hate", _("Hate")
    SEXUAL = "sexual", _("Sexual content")
    SELF_HARM = "self_harm", _("Someone may be at risk")
    PERSONAL_INFO = "personal_info", _("Shares someone's personal information")
    OTHER = "other", _("Something else")


class ReportTarget(models.TextChoices):
    POST = "post", _("Post")
    MESSAGE = "message", _("Message")
    USER = "user", _("Person")
    CHANNEL = "channel", _("Channel")


class Report(models.Model):
    """Someone flagged something. The reporter is never shown to the reported."""

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made")
    target_kind = models.CharField(max_length=10, choices=ReportTarget.choices)
    target_id = models.CharField(max_length=64)
    channel = models.ForeignKey(
        "interests.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="reports"
    )
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    text = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=20, blank=True)  # the ModerationAction that closed it

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reporter", "target_kind", "target_id"],
                condition=models.Q(resolved_at__isnull=True),
                name="one_open_report_per_person_and_target",
            )
        ]
        indexes = [models.Index(fields=["target_kind", "target_id"], name="report_target")]

    def __str__(self) -> str:
        return f"report of {self.target_kind} {self.target_id}"


class ModerationAction(models.TextChoices):
    REMOVE_POST = "remove_post", _("Removed a post")
    PIN_POST = "pin_post", _("Pinned a post")
    UNPIN_POST = "unpin_post", _("Unpinned a post")
    TRANSFER_CHANNEL = "transfer_channel", _("Handed the channel over")
    DISMISS_REPORTS = "dismiss_reports", _("Dismissed reports")
    SUSPEND = "suspend", _("Suspended an account")
    UNSUSPEND = "unsuspend", _("Lifted a suspension")
    BAN_FROM_CHANNEL = "ban_from_channel", _("Banned someone from a channel")
    CLOSE_CHANNEL = "close_channel", _("Closed a channel")
    READ_MESSAGE = "read_message", _("Read a reported private message")


class ModerationLogEntry(models.Model):
    """One row per moderator action: who, what, why, when. Kept when the post itself is gone."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20, choices=ModerationAction.choices)
    channel = models.ForeignKey(
        "interests.Channel", null=True, blank=True, on_delete=models.CASCADE, related_name="moderation_log"
    )
    post = models.ForeignKey("posts.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["channel", "-created_at"], name="modlog_channel_newest")]
        verbose_name_plural = "moderation log entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id}"


class Block(models.Model):
    """`blocker` no longer hears from `blocked`: no knocks, no messages; their 1:1 conversations close."""

    blocker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made")
    blocked = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="one_block_per_pair"),
            models.CheckConstraint(condition=~models.Q(blocker=models.F("blocked")), name="no_blocking_oneself"),
        ]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocks {self.blocked_id}"
