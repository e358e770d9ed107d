from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import new_public_id
from interests.models import Channel
from posts.models import Post
from stickers.models import Sticker

GROUP_MAX_MEMBERS = 200


class ConversationState(models.TextChoices):
    REQUEST = "request", _("Request")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class ConversationKind(models.TextChoices):
    DIRECT = "direct", _("Direct")
    GROUP = "group", _("Group")


class Conversation(models.Model):
    """Two people talking, started by a knock on one's post — or a group of up to 200.

    A direct conversation is a request until the author accepts; the knocker may send 3 messages in all
    until then. A group is active from the start; people join by invite link or, for a channel's group
    chat, from the channel. `next_seq` hands out each message's number under a row lock, so numbers never
    repeat or skip.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=8, choices=ConversationKind.choices, default=ConversationKind.DIRECT)
    title = models.CharField(max_length=80, blank=True)
    cover = models.CharField(max_length=200, blank=True)  # storage name of a 640px picture
    channel = models.ForeignKey(Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=8, choices=ConversationState.choices, default=ConversationState.REQUEST)
    origin_post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    next_seq = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["-last_message_at"], name="conversation_recent")]
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], condition=models.Q(channel__isnull=False), name="one_group_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"conversation {self.public_id}"

    @property
    def cover_url(self) -> str | None:
        return default_storage.url(self.cover) if self.cover else None


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    ADMIN = "admin", _("Admin")
    MEMBER = "member", _("Member")


class Participant(models.Model):
    """A person in a conversation. Leaving or being removed deletes the row: access ends at once."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_seq = models.PositiveIntegerField(default=0)
    ignored = models.BooleanField(default=False)  # the author ignored the request; the knocker is not told
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    muted = models.BooleanField(default=False)  # no badge, no unread count; messages still arrive

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="one_participant_row")]
        indexes = [models.Index(fields=["user", "conversation"], name="participant_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class MessageKind(models.TextChoices):
    TEXT = "text", _("Text")
    VOICE = "voice", _("Voice message")
    PHOTO = "photo", _("Photo")
    POST = "post", _("Forwarded post")
    STICKER = "sticker", _("Sticker")
    EVENT = "event", _("Event")  # "ana joined", written by the server
    DELETED = "deleted", _("Deleted")


class TranscriptStatus(models.TextChoices):
    """Where a voice message's transcript is (blank for every other kind of message)."""

    PENDING = "pending", _("Transcribing…")
    READY = "ready", _("Transcribed")  # the words, or none heard
    FAILED = "failed", _("Couldn't transcribe")
    UNAVAILABLE = "unavailable", _("No transcript in this language")  # the recogniser doesn't know the sender's


class Message(models.Model):
    """Stored before it is announced; `seq` orders a conversation, `client_id` makes a resend harmless.

    Attachments live in storage under unguessable names and are served only to members (chat.attachments).
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    # No index of its own: the (conversation, seq) one below serves every lookup by conversation, and alone
    # lets "after my read mark" be an index range (the planner picked the narrower one and filtered).
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False)
    seq = models.PositiveIntegerField()
    # No index of its own either: (sender, created_at) below serves every lookup by sender.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="messages_sent", db_index=False
    )
    kind = models.CharField(max_length=8, choices=MessageKind.choices, default=MessageKind.TEXT)
    text = models.TextField(blank=True)
    audio = models.CharField(max_length=200, blank=True)
    audio_seconds = models.FloatField(null=True, blank=True)
    # What a voice message says, heard by the task worker after it was sent (chat/transcripts.py).
    # (db_default: rows written without them, by bulk loaders such as seed_scale, are plain messages.)
    transcript = models.TextField(blank=True, default="", db_default="")
    transcript_status = models.CharField(
        max_length=12, choices=TranscriptStatus.choices, blank=True, default="", db_default=""
    )
    image = models.CharField(max_length=200, blank=True)
    thumb = models.CharField(max_length=200, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    forwarded_post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sticker = models.ForeignKey(Sticker, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    client_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_message_per_seq"),
            models.UniqueConstraint(fields=["sender", "client_id"], name="one_message_per_client_id"),
        ]
        indexes = [
            # A person's messages of the last minute, newest first: their limits (chat/limits.py).
            models.Index(fields=["sender", "-created_at"], name="message_by_sender_and_time"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.conversation_id}"


INVITE_DAYS = (1, 7, 30)


class Invite(models.Model):
    """A link into a group: expires, and the group's owner or admins can revoke it."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="invites")
    code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"invite into {self.conversation_id}"

    def is_open(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
