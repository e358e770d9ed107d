"""Reads on chat: a person's conversations with unread counts, and a conversation's messages."""

from dataclasses import dataclass

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound
from core.pagination import keyset_page

from .models import Conversation, ConversationKind, ConversationState, Message, MessageKind, Participant

PAGE = 50


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    other: str | None  # the other person's username (a direct conversation)
    unread: int
    last_text: str
    last_kind: str
    is_request_to_me: bool
    muted: bool

    @property
    def is_group(self) -> bool:
        return self.conversation.kind == ConversationKind.GROUP

    @property
    def name(self) -> str | None:
        return self.conversation.title if self.is_group else self.other


def conversation_page(
    *, user: User, cursor: str | None = None, size: int = 50
) -> tuple[list[ConversationRow], str | None]:
    """Conversations the person is in (requests included, unless they ignored them), newest activity first,
    a page at a time: the rows and the cursor of the next page."""
    mine = Participant.objects.filter(user=user, ignored=False).values("conversation_id")
    my_row = Participant.objects.filter(user=user, conversation=OuterRef("pk"))
    other = Participant.objects.filter(conversation=OuterRef("pk")).exclude(user=user).values("user__username")[:1]
    last = Message.objects.filter(conversation=OuterRef("pk")).order_by("-seq")
    conversations = (
        Conversation.objects.filter(pk__in=mine)
        .annotate(
            other_name=Subquery(other),
            last_text=Subquery(last.values("text")[:1]),
            last_kind=Subquery(last.values("kind")[:1]),
            muted=Subquery(my_row.values("muted")[:1]),
            unread=Count(
                "messages",
                filter=Q(messages__seq__gt=Subquery(my_row.values("last_read_seq")[:1]))
                & ~Q(messages__sender=user)
                & ~Q(messages__kind=MessageKind.EVENT),
            ),
        )
        .select_related("origin_post__channel", "channel")
        .prefetch_related(
            Prefetch("participants", queryset=Participant.objects.select_related("user").order_by("joined_at", "pk"))
        )
    )
    page = keyset_page(conversations, order=("last_message_at", "public_id"), cursor=cursor, size=size)
    rows = [
        ConversationRow(
            conversation=c,
            other=c.other_name,  # type: ignore[attr-defined]
            unread=c.unread,  # type: ignore[attr-defined]
            last_text=c.last_text or "",  # type: ignore[attr-defined]
            last_kind=c.last_kind or "",  # type: ignore[attr-defined]
            is_request_to_me=c.state == ConversationState.REQUEST and c.started_by_id != user.pk,
            muted=bool(c.muted),  # type: ignore[attr-defined]
        )
        for c in page.items
    ]
    return rows, page.next


def conversation_rows(*, user: User) -> list[ConversationRow]:
    """The Chats tab: the 200 conversations with the newest activity."""
    return conversation_page(user=user, size=200)[0]


def unread_total(*, user: User) -> int:
    """The Chats tab's badge: unread messages outside muted (and ignored) conversations — what the rows of
    the Chats tab count, summed in one query: for each of the person's rows, the messages after their read
    mark that others sent (not membership events)."""
    return (
        Message.objects.filter(
            conversation__participants__user=user,
            conversation__participants__ignored=False,
            conversation__participants__muted=False,
            seq__gt=F("conversation__participants__last_read_seq"),
        )
        .exclude(sender=user)
        .exclude(kind=MessageKind.EVENT)
        .count()
    )


def _messages(conversation: Conversation) -> QuerySet[Message]:
    return Message.objects.filter(conversation=conversation).select_related(
        "sender", "forwarded_post__channel", "sticker"
    )


def _in(conversation: Conversation, messages: list[Message]) -> list[Message]:
    for message in messages:
        message.conversation = conversation  # known already: attachment URLs need its id
    return messages


def messages_after(*, conversation: Conversation, after: int = 0, limit: int = PAGE) -> list[Message]:
    """Oldest first, after a sequence number."""
    return _in(conversation, list(_messages(conversation).filter(seq__gt=after).order_by("seq")[:limit]))


def messages_before(*, conversation: Conversation, before: int, limit: int = PAGE) -> list[Message]:
    """The `limit` messages before a sequence number, oldest first: scrolling back through history."""
    older = list(_messages(conversation).filter(seq__lt=before).order_by("-seq")[:limit])
    return _in(conversation, older[::-1])


def messages_latest(*, conversation: Conversation, limit: int = PAGE) -> list[Message]:
    """The last `limit` messages, oldest first: what a conversation page opens on."""
    newest = list(_messages(conversation).order_by("-seq")[:limit])
    return _in(conversation, newest[::-1])


def others_read_up_to(*, conversation: Conversation, user: User) -> int:
    """The highest message number everyone else has read."""
    seqs = (
        Participant.objects.filter(conversation=conversation).exclude(user=user).values_list("last_read_seq", flat=True)
    )
    return min(seqs, default=0)


def messages_to_report(*, conversation: Conversation, user: User, limit: int = 30) -> list[Message]:
    """What someone may report here: the latest messages others sent them (not the server's event lines),
    newest first."""
    return list(
        _messages(conversation)
        .exclude(sender=user)
        .exclude(sender=None)
        .exclude(kind__in=[MessageKind.EVENT, MessageKind.DELETED])
        .order_by("-seq")[:limit]
    )


def members(*, conversation: Conversation) -> list[Participant]:
    """Who is in a conversation, with their people, in the order they came."""
    return list(conversation.participants.select_related("user").order_by("joined_at", "pk"))


def is_member(*, conversation: Conversation, user: User) -> bool:
    return conversation.participants.filter(user=user).exists()


def message_get(*, conversation: Conversation, message_id: str) -> Message:
    message = Message.objects.filter(conversation=conversation, public_id=message_id).first()
    if message is None:
        raise NotFound(_("No such message."))
    return message
