"""Reads on chat: a person's conversations with unread counts, and a conversation's messages."""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, Subquery

from accounts.models import User

from .models import Conversation, ConversationState, Message, Participant

PAGE = 50


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    other: str | None  # the other person's username
    unread: int
    last_text: str
    is_request_to_me: bool


def conversation_rows(*, user: User) -> list[ConversationRow]:
    """Every conversation the person is in (requests included, unless they ignored them), newest activity first."""
    mine = Participant.objects.filter(user=user, ignored=False).values("conversation_id")
    my_read = Participant.objects.filter(user=user, conversation=OuterRef("pk")).values("last_read_seq")[:1]
    other = Participant.objects.filter(conversation=OuterRef("pk")).exclude(user=user).values("user__username")[:1]
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-seq").values("text")[:1]
    conversations = (
        Conversation.objects.filter(pk__in=mine)
        .annotate(
            other_name=Subquery(other),
            last_text=Subquery(last),
            unread=Count("messages", filter=Q(messages__seq__gt=Subquery(my_read)) & ~Q(messages__sender=user)),
        )
        .select_related("origin_post__channel")
        .order_by("-last_message_at")[:200]
    )
    return [
        ConversationRow(
            conversation=c,
            other=c.other_name,
            unread=c.unread,
            last_text=c.last_text or "",
            is_request_to_me=c.state == ConversationState.REQUEST and c.started_by_id != user.pk,
        )
        for c in conversations
    ]


def unread_total(*, user: User) -> int:
    return sum(row.unread for row in conversation_rows(user=user))


def messages_after(*, conversation: Conversation, after: int = 0, limit: int = PAGE) -> list[Message]:
    """Oldest first, after a sequence number."""
    return list(
        Message.objects.filter(conversation=conversation, seq__gt=after)
        .select_related("sender")
        .order_by("seq")[:limit]
    )


def messages_latest(*, conversation: Conversation, limit: int = PAGE) -> list[Message]:
    """The last `limit` messages, oldest first: what a conversation page opens on."""
    newest = list(Message.objects.filter(conversation=conversation).select_related("sender").order_by("-seq")[:limit])
    return newest[::-1]


def others_read_up_to(*, conversation: Conversation, user: User) -> int:
    """The highest message number everyone else has read."""
    seqs = (
        Participant.objects.filter(conversation=conversation).exclude(user=user).values_list("last_read_seq", flat=True)
    )
    return min(seqs, default=0)
