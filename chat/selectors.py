"""Reads on chat: a person's conversations with unread counts, and a conversation's messages."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound
from core.pagination import keyset_page
from core.rawsql import fetch_one

from .models import Conversation, ConversationKind, ConversationState, Message, MessageKind, Participant

PAGE = 50
# Unread messages are counted up to this many per conversation (shown "99+"): the count walks the
# conversation's messages after the person's read mark by (conversation, seq) and stops there, so a
# group with thousands of unread messages costs what one with a hundred does.
UNREAD_CAP = 100
_UNREAD_SQL = (
    "SELECT COUNT(*) FROM (SELECT 1 FROM chat_message m"
    " WHERE m.conversation_id = chat_conversation.id"
    " AND m.seq > (SELECT p.last_read_seq FROM chat_participant p"
    " WHERE p.conversation_id = chat_conversation.id AND p.user_id = %s)"
    " AND (m.sender_id IS NULL OR m.sender_id <> %s) AND m.kind <> %s"
    " ORDER BY m.seq LIMIT %s) unread_rows"
)


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
    *, user: User, cursor: str | None = None, size: int = 50, members: int = 0
) -> tuple[list[ConversationRow], str | None]:
    """Conversations the person is in (requests included, unless they ignored them), newest activity first,
    a page at a time: the rows and the cursor of the next page.

    With `members`, each conversation also holds its first `members` participants with their people, in
    joining order (`conversation.first_members`), and `conversation.member_count`: a page of groups
    reads at most `members` people each, not everyone in them (a group has up to 200)."""
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
            unread=RawSQL(_UNREAD_SQL, (user.pk, user.pk, MessageKind.EVENT.value, UNREAD_CAP)),  # noqa: S611 (fixed SQL, bound values)
        )
        .select_related("origin_post__channel", "channel")
    )
    if members:
        first = Participant.objects.select_related("user").order_by("joined_at", "pk")[:members]
        counted = Participant.objects.filter(conversation=OuterRef("pk")).values("conversation").annotate(n=Count("*"))
        conversations = conversations.annotate(member_count=Subquery(counted.values("n"))).prefetch_related(
            Prefetch("participants", queryset=first, to_attr="first_members")
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
    mark that others sent (not membership events), an index range each. Counted up to UNREAD_CAP (the badge
    says "99+")."""
    row = fetch_one(
        "SELECT COUNT(*) FROM (SELECT 1 FROM chat_participant p JOIN chat_message m"
        " ON m.conversation_id = p.conversation_id AND m.seq > p.last_read_seq"
        " WHERE p.user_id = %s AND NOT p.ignored AND NOT p.muted"
        " AND (m.sender_id IS NULL OR m.sender_id <> %s) AND m.kind <> %s LIMIT %s) unread_rows",
        (user.pk, user.pk, MessageKind.EVENT.value, UNREAD_CAP),
    )
    return int(row[0]) if row else 0


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


def memberships(*, user_ids: set[int], conversation_ids: set[str]) -> dict[tuple[int, str], tuple[int, int]]:
    """For each (person, conversation public id) among these where the person is in the conversation: the
    conversation's key and its newest sequence number. One query, however many pairs."""
    rows = Participant.objects.filter(user_id__in=user_ids, conversation__public_id__in=conversation_ids).values_list(
        "user_id", "conversation__public_id", "conversation_id", "conversation__next_seq"
    )
    return {(user_id, public_id): (pk, next_seq - 1) for user_id, public_id, pk, next_seq in rows}


def messages_in_spans(*, spans: dict[int, list[tuple[int, int]]]) -> list[Message]:
    """The messages of several conversations at once, each with its conversation: for each conversation key,
    those whose seq is in one of its spans (after, up to]. One query, ordered by conversation, then seq."""
    condition = Q()
    for conversation_id, ranges in spans.items():
        for after, up_to in ranges:
            condition |= Q(conversation_id=conversation_id, seq__gt=after, seq__lte=up_to)
    if not condition:
        return []
    return list(
        Message.objects.filter(condition)
        .select_related("conversation", "sender", "forwarded_post__channel", "sticker")
        .order_by("conversation_id", "seq")
    )


def newest_seqs_since(*, public_ids: list[str], since: datetime) -> dict[str, dict[str, int]]:
    """For each of these people (public ids), the conversations they hear with a message since `since`, each
    with its newest sequence number; everyone is in the answer, with nothing new or not. 500 people a query."""
    newest: dict[str, dict[str, int]] = {public_id: {} for public_id in public_ids}
    for start in range(0, len(public_ids), 500):
        rows = Participant.objects.filter(
            user__public_id__in=public_ids[start : start + 500],
            ignored=False,
            conversation__last_message_at__gte=since,
        ).values_list("user__public_id", "conversation__public_id", "conversation__next_seq")
        for person, conversation, next_seq in rows:
            newest[person][conversation] = next_seq - 1
    return newest


def messages_before(*, conversation: Conversation, before: int, limit: int = PAGE) -> list[Message]:
    """The `limit` messages before a sequence number, oldest first: scrolling back through history."""
    older = list(_messages(conversation).filter(seq__lt=before).order_by("-seq")[:limit])
    return _in(conversation, older[::-1])


def messages_latest(*, conversation: Conversation, limit: int = PAGE) -> list[Message]:
    """The last `limit` messages, oldest first: what a conversation page opens on."""
    newest = list(_messages(conversation).order_by("-seq")[:limit])
    return _in(conversation, newest[::-1])


def others_read_up_to(*, conversation: Conversation, user: User) -> int:
    """The highest message number everyone else has read: the lowest read mark of the others, found by the
    database (one number back, however big the group)."""
    lowest = (
        Participant.objects.filter(conversation=conversation)
        .exclude(user=user)
        .aggregate(lowest=Min("last_read_seq"))["lowest"]
    )
    return lowest or 0


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
