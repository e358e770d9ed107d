from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import new_public_id
from posts.models import Post


class ConversationState(models.TextChoices):
    REQUEST = "request", _("Request")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class Conversation(models.Model):
    """Two people talking, started by a knock on one's post.

    Until the author accepts, it is a request and the knocker may send 3 messages in all.
    `next_seq` hands out each message's number under a row lock, so numbers never repeat or skip.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    kind = models.CharField(max_length=8, default="direct")
    state = models.CharField(max_length=8, choices=ConversationState.choices, default=ConversationState.REQUEST)
    origin_post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(default=timezone.now)
    next_seq = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["-last_message_at"], name="conversation_recent")]

    def __str__(self) -> str:
        return f"conversation {self.public_id}"


class Participant(models.Model):
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations")
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_seq = models.PositiveIntegerField(default=0)
    ignored = models.BooleanField(default=False)  # the author ignored the request; the knocker is not told

    class Meta:
        constraints = [models.UniqueConstraint(fields=["conversation", "user"], name="one_participant_row")]
        indexes = [models.Index(fields=["user", "conversation"], name="participant_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.conversation_id}"


class Message(models.Model):
    """Stored before it is announced; `seq` orders a conversation, `client_id` makes a resend harmless."""

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="messages")
    seq = models.PositiveIntegerField()
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="messages_sent"
    )
    kind = models.CharField(max_length=8, default="text")
    text = models.TextField(blank=True)
    client_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="one_message_per_seq"),
            models.UniqueConstraint(fields=["sender", "client_id"], name="one_message_per_client_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} in {self.conversation_id}"
