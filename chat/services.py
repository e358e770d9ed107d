"""Writes on chat: knock on a post's author, accept or ignore, send — each message stored, then announced."""

import contextlib
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.newcomers import is_new_account
from accounts.services import bearer_digest, bearer_lookup, token_touch_params, token_user
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from core.prepared import Prepared, sql_for
from core.ratelimit import rate_limit_hit
from core.rawsql import fetch_one, instance, select_list, width
from core.realtime import Credential, SignedOut
from moderation.blocks import is_blocked_between
from posts.models import Post
from push.tasks import notify_new_message

from . import limits
from .events import announce_message, announce_state
from .models import Conversation, ConversationKind, ConversationState, Message, Participant

TEXT_MAX = 2000
CLIENT_ID_MAX = 64
REQUEST_MESSAGE_LIMIT = 3


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: a resend with a client_id already used; nothing new was written


# Hand-written (core/rawsql.py's reason): every send, resume and typing frame starts here, and building the ORM's
# query cost ~2.5 ms of CPU on the loaded machine, most of a send's own work.
_PARTICIPANT_LOOKUP_SQL = (
    "SELECT c.* FROM chat_conversation c WHERE c.public_id = %s"
    " AND EXISTS (SELECT 1 FROM chat_participant p WHERE p.conversation_id = c.id AND p.user_id = %s)"
)


def conversation_for_participant(*, user: User, conversation_id: str) -> Conversation:
    """The conversation, if this person is in it. Anyone else gets 404, so ids can't be probed."""
    conversation = next(iter(Conversation.objects.raw(_PARTICIPANT_LOOKUP_SQL, [conversation_id, user.pk])), None)
    if conversation is None:
        raise NotFound(_("No such conversation."))
    return conversation


@cache
def _token_and_conversation_sql(vendor: str) -> str:
    """The token's person and, beside them, the conversation if they are in it (NULLs if not): the SELECT of
    `accounts.services.bearer_lookup` and `_PARTICIPANT_LOOKUP_SQL` in one statement."""
    return (
        f"SELECT {select_list(User, 'u')}, t.id, t.last_used_at, {select_list(Conversation, 'c')}"  # noqa: S608  (the models' columns)
        " FROM accounts_accesstoken t JOIN accounts_user u ON u.id = t.user_id"
        " LEFT JOIN chat_conversation c ON c.public_id = %s"
        " AND EXISTS (SELECT 1 FROM chat_participant p WHERE p.conversation_id = c.id AND p.user_id = u.id)"
        " WHERE t.digest = %s"
    )


def token_and_conversation(*, secret: str, conversation_id: str) -> tuple[User | None, Conversation | None]:
    """The person a bearer token belongs to (as `token_authenticate` finds them) and the conversation, if they
    are in it (as `conversation_for_participant` finds it), in one round trip where the two took two: for the
    API's send, the hottest request on a conversation. (None, None) for a token that is no one's."""
    digest = bearer_digest(secret)
    if digest is None:
        return None, None
    return digest_and_conversation(digest=digest, conversation_id=conversation_id)


def digest_and_conversation(*, digest: str, conversation_id: str) -> tuple[User | None, Conversation | None]:
    """`token_and_conversation` by the token's digest: for a socket signed in with a token, which keeps the digest
    (never the token) to check again before each message it sends."""
    (lookup,) = sql_for(_prepared("same_chat_token_conversation", _token_and_conversation_sql(connection.vendor)))
    row = fetch_one(lookup, [conversation_id, digest])
    if row is None:
        return None, None
    user = instance(User, row)
    assert user is not None  # the JOIN's side: always there
    token_pk, last_used_at = row[width(User)], row[width(User) + 1]
    return token_user(user, token_pk=token_pk, last_used_at=last_used_at), instance(Conversation, row, width(User) + 2)


def _clean_text(text: str) -> str:
    clean = text.strip()
    if not clean:
        raise ValidationFailed({"text": [_("Write something first.")]})
    if len(clean) > TEXT_MAX:
        raise ValidationFailed({"text": [_("A message has at most 2,000 characters.")]})
    return clean


def _clean_client_id(client_id: str) -> str:
    clean = client_id.strip()
    if not clean or len(clean) > CLIENT_ID_MAX:
        raise ValidationFailed({"client_id": [_("Send a client_id of 1 to 64 characters.")]})
    return clean


def _write(*, conversation: Conversation, sender: User, client_id: str, fields: dict[str, Any]) -> Sent:
    """Store one message with the next number, announced on commit to the members read then: the server's own
    lines ("ana joined") and a new conversation's first message, which no rule stops. Precondition: inside a
    transaction."""
    now = timezone.now()
    if not _take_number(conversation=conversation, sender=sender, client_id=client_id, now=now):
        return _resent(sender=sender, client_id=client_id)
    return _store(conversation=conversation, sender=sender, client_id=client_id, fields=fields, now=now)


# The conversation's next number, taken with the row lock that every change of its membership or state also takes
# (removing, leaving, ignoring, accepting: select_for_update), so numbers never repeat or skip. A client_id this
# sender already used matches no row: a resend takes no number and writes nothing. One statement where a
# SELECT … FOR UPDATE and an UPDATE were two.
_TAKE_NUMBER_SQL = (
    "UPDATE chat_conversation SET next_seq = next_seq + 1, last_message_at = %s WHERE id = %s"
    " AND NOT EXISTS (SELECT 1 FROM chat_message WHERE sender_id = %s AND client_id = %s)"
    " RETURNING next_seq, state, kind, started_by_id"
)


def _take_number(*, conversation: Conversation, sender: User, client_id: str, now: Any) -> bool:
    """Lock the conversation and take the next number for a message by `sender`, updating `conversation` to the
    row as it now is; False for a resend (or a conversation deleted a moment ago). Precondition: inside a
    transaction, which the caller rolls back (the number with it) if a rule then refuses the message."""
    with connection.cursor() as cursor:
        cursor.execute(
            _TAKE_NUMBER_SQL,
            _take_number_params(conversation=conversation, sender=sender, client_id=client_id, now=now),
        )
        return _numbered(conversation, cursor.fetchone(), now=now)


def _take_number_params(*, conversation: Conversation, sender: User, client_id: str, now: Any) -> list[Any]:
    return [connection.ops.adapt_datetimefield_value(now), conversation.pk, sender.pk, client_id]


def _numbered(conversation: Conversation, row: Any, *, now: Any) -> bool:
    """`conversation` updated to the row `_TAKE_NUMBER_SQL` answered; False if it answered none (a resend)."""
    if row is None:
        return False
    conversation.next_seq, conversation.state, conversation.kind, conversation.started_by_id = row
    conversation.last_message_at = now
    return True


@dataclass(frozen=True)
class _Member:
    user_id: int
    public_id: str
    ignored: bool
    wants_push: bool  # has a push subscription and neither muted the conversation nor ignored it
    blocked: bool  # blocked the sender or was blocked by them (read for direct conversations only)


_MEMBERS_OF_GROUP_SQL = (
    "SELECT p.user_id, u.public_id, p.ignored,"
    " (NOT p.muted AND NOT p.ignored AND EXISTS (SELECT 1 FROM push_pushsubscription s WHERE s.user_id = p.user_id)),"
    " 0"
    " FROM chat_participant p JOIN accounts_user u ON u.id = p.user_id WHERE p.conversation_id = %s"
)
_MEMBERS_OF_DIRECT_SQL = (
    "SELECT p.user_id, u.public_id, p.ignored,"
    " (NOT p.muted AND NOT p.ignored AND EXISTS (SELECT 1 FROM push_pushsubscription s WHERE s.user_id = p.user_id)),"
    " EXISTS (SELECT 1 FROM moderation_block b WHERE (b.blocker_id = %s AND b.blocked_id = p.user_id)"
    " OR (b.blocker_id = p.user_id AND b.blocked_id = %s))"
    " FROM chat_participant p JOIN accounts_user u ON u.id = p.user_id WHERE p.conversation_id = %s"
)


def _members_query(*, conversation: Conversation, sender: User) -> tuple[str, list[Any]]:
    if conversation.kind == ConversationKind.GROUP:
        return _MEMBERS_OF_GROUP_SQL, [conversation.pk]
    return _MEMBERS_OF_DIRECT_SQL, [sender.pk, sender.pk, conversation.pk]


def _as_members(rows: list[Any]) -> list[_Member]:
    return [_Member(row[0], row[1], bool(row[2]), bool(row[3]), bool(row[4])) for row in rows]


def _members(*, conversation: Conversation, sender: User) -> list[_Member]:
    """Everyone in the conversation, read once after its lock was taken: whether the sender still belongs, whom a
    1:1 message goes to, who hears it and whether anyone wants a push notification."""
    sql, params = _members_query(conversation=conversation, sender=sender)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return _as_members(cursor.fetchall())


def _resent(*, sender: User, client_id: str) -> Sent:
    """The message a resend's client_id was first used for; NotFound if there is none (the conversation was
    deleted a moment ago)."""
    existing = Message.objects.filter(sender=sender, client_id=client_id).first()
    if existing is None:
        raise NotFound(_("No such conversation."))
    return Sent(message=existing, created=False)


def _new_message(
    *, conversation: Conversation, sender: User, client_id: str, fields: dict[str, Any], now: Any
) -> Message:
    """The message to store with the number just taken (`_take_number` succeeded in this transaction)."""
    return Message(
        conversation=conversation,
        seq=conversation.next_seq - 1,
        sender=sender,
        client_id=client_id,
        created_at=now,
        **fields,
    )


def _store(
    *,
    conversation: Conversation,
    sender: User,
    client_id: str,
    fields: dict[str, Any],
    now: Any,
    listeners: list[str] | None = None,
    wants_push: bool | None = None,
) -> Sent:
    """Store the message with the number just taken and announce it on commit, to `listeners` (public ids read
    under the same lock) or, without them, to the members read after the commit. Precondition: `_take_number`
    succeeded in this transaction. The same client_id racing in from another tab gets past `_take_number`'s check
    and fails here on the unique constraint (IntegrityError): `_answering_a_race` answers it."""
    message = _new_message(conversation=conversation, sender=sender, client_id=client_id, fields=fields, now=now)
    _insert(message)
    transaction.on_commit(lambda: announce_message(message, listeners))
    transaction.on_commit(lambda: notify_new_message(message, listening=wants_push))
    return Sent(message=message, created=True)


_READ_MARK_SQL = "UPDATE chat_participant SET last_read_seq = %s WHERE conversation_id = %s AND user_id = %s"


@cache
def _prepared(name: str, sql: str) -> Prepared:
    return Prepared(name, sql)


@cache
def _insert_sql(vendor: str) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """The message's INSERT; on PostgreSQL with the sender's read mark (`_READ_MARK_SQL`) moved in the same
    statement, a data-modifying WITH: one round trip fewer per message. The two succeed or fail together (a
    statement is atomic), and the mark's row is not one the INSERT reads, so the snapshot both share changes
    nothing. SQLite has no data-modifying WITH: there the mark is a statement of its own."""
    fields = tuple(f for f in Message._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    insert = f"INSERT INTO chat_message ({columns}) VALUES ({marks}) RETURNING id"  # noqa: S608  (the model's columns)
    if vendor == "postgresql":
        return f"WITH read_mark AS ({_READ_MARK_SQL}) {insert}", fields
    return insert, fields


def _insert(message: Message, *, statement: str | None = None) -> None:
    """`message.save()` for a new message, with the statement written once: building the ORM's INSERT cost more CPU
    than the database spends on it, on every message. The sender's read mark moves with it, in the same statement
    where the database allows it (`_insert_sql`). `statement`: what to run instead on PostgreSQL, taking the same
    values — `_send_by_hand`'s prepared INSERT with its COMMIT behind it, in the same round trip (if the INSERT
    fails, PostgreSQL skips the rest of the string and the transaction stays open, to be rolled back)."""
    sql, fields = _insert_sql(connection.vendor)
    if statement is not None:
        assert connection.vendor == "postgresql", "only PostgreSQL's sends are written by hand"
        sql = statement
    values = [f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in fields]
    read_mark = [message.seq, message.conversation_id, message.sender_id]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(sql, [*read_mark, *values])
        else:
            cursor.execute(sql, values)
        row = cursor.fetchone()
        if connection.vendor != "postgresql":
            cursor.execute(_READ_MARK_SQL, read_mark)
    assert row is not None  # RETURNING always answers a row inserted
    message.pk = row[0]
    message._state.adding = False
    message._state.db = connection.alias


def _answering_a_race[T](*, sender: User, client_id: str, attempt: Callable[[], T], answer: Callable[[Sent], T]) -> T:
    """Run `attempt` (a whole transaction); if the same client_id raced in from another tab and was stored first,
    answer with that message, as a resend is answered."""
    try:
        return attempt()
    except IntegrityError:
        existing = Message.objects.filter(sender=sender, client_id=client_id).first()
        if existing is None:
            raise
        return answer(Sent(message=existing, created=False))


def conversation_knock(*, sender: User, post: Post, text: str, client_id: str) -> tuple[Conversation, Sent]:
    """Approach a post's author privately. The knock is the first message of a request."""
    clean_text = _clean_text(text)
    clean_client_id = _clean_client_id(client_id)
    author = post.author
    if author.pk == sender.pk:
        raise ServiceError("own_post", _("This is your own post."))
    if not author.is_active:
        raise NotFound(_("No such post."))
    if is_blocked_between(sender, author):
        raise PermissionDenied("blocked", _("You can't reach this person."))
    ensure_not_suspended(sender)
    rate_limit_hit(scope="knock_account", key=sender.public_id)
    if is_new_account(sender):
        rate_limit_hit(scope="knock_new_account", key=sender.public_id)

    def attempt() -> tuple[Conversation, Sent]:
        with transaction.atomic():
            existing = (
                Conversation.objects.filter(kind="direct", participants__user=sender)
                .filter(participants__user=author)
                .exclude(state=ConversationState.CLOSED)
                .first()
            )
            if existing is not None:
                return existing, _send_checked(
                    conversation=existing, sender=sender, client_id=clean_client_id, fields={"text": clean_text}
                )
            conversation = Conversation.objects.create(origin_post=post, started_by=sender)
            Participant.objects.bulk_create(
                [
                    Participant(conversation=conversation, user=sender),
                    Participant(conversation=conversation, user=author),
                ]
            )
            sent = _write(
                conversation=conversation, sender=sender, client_id=clean_client_id, fields={"text": clean_text}
            )
            if not sent.created:  # a client_id used before: keep nothing of the conversation just begun
                transaction.set_rollback(True)
                return sent.message.conversation, sent
            transaction.on_commit(lambda: announce_state(conversation, "conversation.request", to=[author]))
        return conversation, sent

    return _answering_a_race(
        sender=sender, client_id=clean_client_id, attempt=attempt, answer=lambda sent: (sent.message.conversation, sent)
    )


def _send_checked(*, conversation: Conversation, sender: User, client_id: str, fields: dict[str, Any]) -> Sent:
    """The rules every message obeys. Precondition: inside a transaction (a refusal rolls it back)."""
    now = timezone.now()
    if not _take_number(conversation=conversation, sender=sender, client_id=client_id, now=now):
        return _resent(sender=sender, client_id=client_id)
    limits.check(sender, now)
    # The membership the message is stored under: someone removed a moment ago hears nothing of it.
    members = _members(conversation=conversation, sender=sender)
    listeners, wants_push = _obey_the_rules(conversation=conversation, sender=sender, members=members)
    return _store(
        conversation=conversation,
        sender=sender,
        client_id=client_id,
        fields=fields,
        now=now,
        listeners=listeners,
        wants_push=wants_push,
    )


def _obey_the_rules(*, conversation: Conversation, sender: User, members: list[_Member]) -> tuple[list[str], bool]:
    """Refuse the message if a rule says no; else whom it goes to (public ids) and whether anyone wants a push
    notification. `conversation` and `members` were read under the conversation's lock (`_take_number`), in the
    transaction the message is to be stored in: the request's 3-message limit is counted there, and the author's
    answer to a request accepts it there."""
    if not any(member.user_id == sender.pk for member in members):
        raise NotFound(_("No such conversation."))  # removed or left a moment ago
    if conversation.state == ConversationState.CLOSED:
        raise PermissionDenied("conversation_closed", _("This conversation is closed."))
    listeners, wants_push = _hearers(members, sender)
    if conversation.kind == ConversationKind.GROUP:
        return listeners, wants_push
    if any(member.blocked for member in members if member.user_id != sender.pk):
        raise PermissionDenied("blocked", _("You can't reach this person."))
    if conversation.state == ConversationState.REQUEST:
        if conversation.started_by_id == sender.pk:
            sent_so_far = Message.objects.filter(conversation=conversation, sender=sender).count()
            if sent_so_far >= REQUEST_MESSAGE_LIMIT:
                raise PermissionDenied(
                    "awaiting_acceptance", _("Wait until they accept: until then you can send 3 messages in all.")
                )
        else:
            # The author answering is accepting.
            conversation.state = ConversationState.ACTIVE
            conversation.save(update_fields=["state"])
    return listeners, wants_push


def _hearers(members: list[_Member], sender: User) -> tuple[list[str], bool]:
    """Whom a message goes to (public ids: every member who does not ignore the conversation) and whether anyone
    but the sender wants a push notification."""
    listeners = [member.public_id for member in members if not member.ignored]
    return listeners, any(member.wants_push for member in members if member.user_id != sender.pk)


def _can_send_by_hand() -> bool:
    """Whether `_send_by_hand` may run: on PostgreSQL, with no transaction open (in a caller's `atomic` block the
    transaction is the caller's to end)."""
    return connection.vendor == "postgresql" and connection.get_autocommit() and not connection.in_atomic_block


@cache
def _signer_sql(vendor: str) -> str:
    """A socket's person as they are now, by the digest of the token the socket signed in with (no row: revoked)."""
    return (
        f"SELECT {select_list(User, 'u')}, t.id, t.last_used_at"  # noqa: S608  (the model's columns)
        " FROM accounts_accesstoken t JOIN accounts_user u ON u.id = t.user_id WHERE t.digest = %s"
    )


def _signed_in(row: Any) -> User:
    """The person of `_signer_sql`'s row, if they may still send: SignedOut for a revoked token or a closed
    account, PermissionDenied for a suspension. Inside `_send_by_hand`'s transaction (a refusal rolls it back)."""
    user = instance(User, row) if row is not None else None
    if user is not None:
        user = token_user(user, token_pk=row[width(User)], last_used_at=row[width(User) + 1])
    if user is None:
        raise SignedOut
    ensure_not_suspended(user)
    return user


def _send_by_hand(
    *,
    conversation: Conversation,
    sender: User,
    client_id: str,
    fields: dict[str, Any],
    signed_by: str | None = None,
) -> Sent:
    """`_send_checked` in a transaction written out by hand, in two round trips to PostgreSQL where Django's
    `atomic` took five: `BEGIN`, the number (with the row lock), the members and the sender's recent messages
    (chat/limits.py) in one string, the INSERT (with
    the read mark) and `COMMIT` in another. `transaction.atomic` cannot do this: psycopg sends its `BEGIN` on its
    own, and Django its `COMMIT`, each a round trip. The rules are the same function, run between the two, on
    the same connection and inside the same transaction; the members are still read after the lock was taken
    (in READ COMMITTED each statement of the string sees what was committed before it began). Announced after the
    COMMIT answered, as `on_commit` would. Anything raised in between rolls the transaction back.
    Precondition: `_can_send_by_hand()`; nothing in between may open an `atomic` block (its commit would end this
    transaction early): the rules' own writes (a request accepted) are single statements.

    `signed_by`: the digest of the token a socket signed in with (`message_send_from_socket`): the person is read
    again in the same first round trip, and sends only if the token still signs them in and they are not
    suspended."""
    now = timezone.now()
    members_sql, members_params = _members_query(conversation=conversation, sender=sender)
    params = [*_take_number_params(conversation=conversation, sender=sender, client_id=client_id, now=now)]
    vendor = connection.vendor
    signer, take, members_by_name, recent, insert = sql_for(  # each planned once per connection (core/prepared.py)
        _prepared("same_chat_signer", _signer_sql(vendor)),
        _prepared("same_chat_take_number", _TAKE_NUMBER_SQL),
        _prepared(f"same_chat_members_{conversation.kind}", members_sql),
        limits.RECENT,
        _prepared("same_chat_insert", _insert_sql(vendor)[0]),
    )
    signer_sql, signer_params = (f"{signer}; ", [signed_by]) if signed_by else ("", [])
    recent_params = limits.recent_params(sender, now)  # the person's id and age never change
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"BEGIN; {signer_sql}{take}; {members_by_name}; {recent}; {recent}",
                [*signer_params, *params, *members_params, *recent_params[0], *recent_params[1]],
            )
            cursor.nextset()  # past BEGIN's answer
            if signed_by:
                sender = _signed_in(cursor.fetchone())
                cursor.nextset()
            numbered = _numbered(conversation, cursor.fetchone(), now=now)
            cursor.nextset()
            members = _as_members(cursor.fetchall())
            cursor.nextset()
            account_recent = cursor.fetchone()
            cursor.nextset()
            new_account_recent = cursor.fetchone()
        if not numbered:
            _roll_back()
            return _resent(sender=sender, client_id=client_id)
        limits.judge(sender, now, [account_recent, new_account_recent])
        listeners, wants_push = _obey_the_rules(conversation=conversation, sender=sender, members=members)
        message = _new_message(conversation=conversation, sender=sender, client_id=client_id, fields=fields, now=now)
        _insert(message, statement=f"{insert}; COMMIT")
    except BaseException:
        _roll_back()
        raise
    announce_message(message, listeners)
    notify_new_message(message, listening=wants_push)
    return Sent(message=message, created=True)


# A socket's later text in ONE round trip to PostgreSQL (`_send_at_once`): the statements of `_send_by_hand`'s two,
# with the rules the second waited for in Python written into the INSERT as the condition of its number. Only the
# plain case passes — what signed the socket in still signs the sender in, the account open and not suspended, a
# member, the conversation active, no block between the two of a 1:1, the sender within the limits on messages
# (chat/limits.py) — and anything else (a request, a closed
# conversation, a resend) makes the statement fail (a NULL number, a unique constraint) and the transaction roll
# back, and `_send_by_hand` decides it with the rules themselves. Strictly narrower than `_obey_the_rules`, never
# wider: tests/test_chat_send_from_socket.py sends each refusal through both.
_MAY_SEND = "u.is_active AND (u.suspended_until IS NULL OR u.suspended_until <= %s)"
# What signed the socket in still signs them in. A token: its row, by digest. A session: its row, unexpired, and the
# person's password what it was when the socket signed in — what Django's session check compares (the session's
# hash is made from it), here by a digest of it, so that no password hash is ever written in a statement.
_SIGNS_IN = {
    "token": (
        "EXISTS (SELECT 1 FROM accounts_accesstoken t JOIN accounts_user u ON u.id = t.user_id"  # noqa: S608
        f" WHERE t.digest = %s AND u.id = %s AND {_MAY_SEND})"
    ),
    "session": (
        "EXISTS (SELECT 1 FROM django_session s JOIN accounts_user u ON u.id = %s"  # noqa: S608  (constants)
        " WHERE s.session_key = %s AND s.expire_date > %s"
        f" AND encode(sha256(convert_to(u.password, 'UTF8')), 'hex') = %s AND {_MAY_SEND})"
    ),
}
_SESSION_SIGNER_SQL = "SELECT {columns} FROM accounts_user u WHERE u.id = %s"


def _allowed_number_sql(signed_by: str) -> str:
    """The message's number if the rules allow it, else NULL."""
    return (
        "SELECT c.next_seq - 1 FROM chat_conversation c"  # noqa: S608  (the enums' values)
        f" WHERE c.id = %s AND c.state = '{ConversationState.ACTIVE.value}' AND {_SIGNS_IN[signed_by]}"
        " AND EXISTS (SELECT 1 FROM chat_participant p WHERE p.conversation_id = c.id AND p.user_id = %s)"
        f" AND (c.kind = '{ConversationKind.GROUP.value}' OR NOT EXISTS (SELECT 1 FROM chat_participant p"
        " JOIN moderation_block b ON (b.blocker_id = %s AND b.blocked_id = p.user_id)"
        " OR (b.blocker_id = p.user_id AND b.blocked_id = %s)"
        " WHERE p.conversation_id = c.id AND p.user_id <> %s))"
        f" AND {limits.SQL_CONDITION}"  # the sender's recent messages within both limits
    )


@cache
def _insert_at_once_sql(signed_by: str) -> tuple[str, tuple[models.Field[Any, Any], ...]]:
    """`_insert_sql`'s INSERT (with the read mark) whose number is `_allowed_number_sql`'s: NULL, and so the
    statement refused, unless the rules allow the message. PostgreSQL only. Its parameters: the number's, then
    the conversation and sender of the read mark, then every other column's value."""
    fields = tuple(f for f in Message._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    values = ", ".join("allowed.seq" if f.name == "seq" else "%s" for f in fields)
    return (
        f"WITH allowed AS (SELECT ({_allowed_number_sql(signed_by)}) AS seq),"  # noqa: S608  (the model's columns)
        " read_mark AS (UPDATE chat_participant SET last_read_seq = (SELECT seq FROM allowed)"
        " WHERE conversation_id = %s AND user_id = %s)"
        f" INSERT INTO chat_message ({columns}) SELECT {values} FROM allowed RETURNING id"
    ), tuple(f for f in fields if f.name != "seq")


def _at_once_statements(kind: str, signed_by: str) -> tuple[Prepared, ...]:
    """The statements of the one round trip for a conversation of this kind and a socket signed in this way
    ("token" or "session"), in the order they run."""
    members_sql = _MEMBERS_OF_GROUP_SQL if kind == ConversationKind.GROUP else _MEMBERS_OF_DIRECT_SQL
    who: tuple[Prepared, ...]
    if signed_by == "token":
        # The person by the token's digest, its last use written in the same statement when due (as an API request's
        # lookup does); the row read as it was, which is enough: the INSERT's condition checks the person may send.
        who = (bearer_lookup("postgresql"),)
    else:
        session_signer = _SESSION_SIGNER_SQL.format(columns=select_list(User, "u"))
        who = (_prepared("same_chat_session_signer", session_signer),)
    return (
        *who,
        _prepared("same_chat_take_number", _TAKE_NUMBER_SQL),
        _prepared(f"same_chat_members_{kind}", members_sql),
        _prepared(f"same_chat_insert_at_once_{signed_by}", _insert_at_once_sql(signed_by)[0]),
    )


def _signed_by(credential: Credential) -> str:
    return "token" if credential.token_digest is not None else "session"


def password_digest(user: User) -> str:
    """What `_SIGNS_IN["session"]` compares: the digest of the password hash the person had."""
    return hashlib.sha256(user.password.encode()).hexdigest()


@dataclass
class AtOnce:
    """One round trip's string and parameters, and the message it stores if the rules' condition allows it."""

    sql: str
    params: list[Any]
    message: Message
    conversation: Conversation
    now: Any
    signed_by: str
    skip: int  # answers before the signer's row: BEGIN's


def at_once(
    *,
    conversation: Conversation,
    sender: User,
    client_id: str,
    fields: dict[str, Any],
    credential: Credential,
    names: list[str],
) -> AtOnce:
    """The one round trip of a text from a socket signed in with `credential`, `sender` as it signed in: `names`,
    `_at_once_statements` as the connection runs them (by name where prepared)."""
    now = timezone.now()
    db_now = connection.ops.adapt_datetimefield_value(now)
    _members_sql, members_params = _members_query(conversation=conversation, sender=sender)
    signed_by = _signed_by(credential)
    _insert, insert_fields = _insert_at_once_sql(signed_by)
    message = _new_message(conversation=conversation, sender=sender, client_id=client_id, fields=fields, now=now)
    values = [f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in insert_fields]
    who: list[Any]
    signs_in: list[Any]
    if credential.token_digest is not None:
        digest = credential.token_digest
        who, signs_in = [*token_touch_params(digest, now), digest], [digest, sender.pk, db_now]
    else:
        who = [sender.pk]
        signs_in = [sender.pk, credential.session_key, db_now, password_digest(sender), db_now]
    allowed = [
        *[conversation.pk, *signs_in, sender.pk, sender.pk, sender.pk, sender.pk],
        *limits.sql_condition_params(sender, now),
    ]
    params = [
        *who,
        *_take_number_params(conversation=conversation, sender=sender, client_id=client_id, now=now),
        *members_params,
        *[*allowed, conversation.pk, sender.pk, *values],
    ]
    return AtOnce(
        sql=f"BEGIN; {'; '.join(names)}; COMMIT",
        params=params,
        message=message,
        conversation=conversation,
        now=now,
        signed_by=signed_by,
        skip=len(names) - 3,  # BEGIN's answer
    )


@dataclass(frozen=True)
class Stored:
    """What a round trip that was not refused stored, and whom it goes to (`_hearers`)."""

    sent: Sent
    listeners: list[str]
    wants_push: bool


def _signer_as_checked(row: Any) -> User:
    """The person of the one round trip's signer row (the INSERT's condition checked they may send)."""
    user = instance(User, row) if row is not None else None
    if user is None:
        raise SignedOut
    return user


def stored_at_once(plan: AtOnce, *, signer: Any, number: Any, members: list[Any], inserted: Any, alias: str) -> Stored:
    """The message `plan` stored, from the rows its statements answered (after BEGIN's nothing)."""
    sender = _signer_as_checked(signer)
    assert _numbered(plan.conversation, number, now=plan.now), "stored only with the number this transaction took"
    assert inserted is not None
    message = plan.message
    message.seq, message.pk = plan.conversation.next_seq - 1, inserted[0]
    message.sender = sender
    message._state.adding, message._state.db = False, alias
    listeners, wants_push = _hearers(_as_members(members), sender)
    return Stored(Sent(message=message, created=True), listeners, wants_push)


def _send_at_once(
    *, conversation: Conversation, sender: User, client_id: str, fields: dict[str, Any], credential: Credential
) -> Sent | None:
    """`_send_by_hand` in one round trip, for the plain case (above), the person read again by what signed the
    socket in; None if the rules' condition refused it, its transaction rolled back: the caller sends by hand,
    which answers the refusal, the resend or the request as the rules say. Precondition: `_can_send_by_hand()`.
    The limits on messages are in the condition too (chat/limits.py): nothing else can stop the COMMIT once the
    string is sent. chat/loop_send.py sends the same string from the event loop."""
    statements = _at_once_statements(conversation.kind, _signed_by(credential))
    names = sql_for(*statements)  # each planned once per connection (core/prepared.py)
    plan = at_once(
        conversation=conversation,
        sender=sender,
        client_id=client_id,
        fields=fields,
        credential=credential,
        names=names,
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, plan.params)
            for _answer in range(plan.skip):
                cursor.nextset()  # past BEGIN's answer
            signer = cursor.fetchone()
            cursor.nextset()
            number = cursor.fetchone()
            cursor.nextset()
            members = cursor.fetchall()
            cursor.nextset()
            inserted = cursor.fetchone()
    except IntegrityError:
        _roll_back()  # the condition said no (or the client_id was used): nothing stored, no number taken
        return None
    except BaseException:
        _roll_back()
        raise
    stored = stored_at_once(
        plan, signer=signer, number=number, members=members, inserted=inserted, alias=connection.alias
    )
    announce_message(stored.sent.message, stored.listeners)
    notify_new_message(stored.sent.message, listening=stored.wants_push)
    return stored.sent


def _roll_back() -> None:
    """End `_send_by_hand`'s transaction if it is still open. A connection that broke meanwhile is left to the pool,
    which throws it away (and PostgreSQL rolls back what the broken session had begun)."""
    from psycopg import pq  # PostgreSQL's driver, imported only where it is the database

    raw = connection.connection
    if raw is None or raw.closed or raw.info.transaction_status == pq.TransactionStatus.IDLE:
        return
    with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
        cursor.execute("ROLLBACK")


def _send_in_a_transaction(
    *,
    conversation: Conversation,
    sender: User,
    client_id: str,
    fields: dict[str, Any],
) -> Sent:
    """`_send_checked` in a transaction of its own: by hand on PostgreSQL (fewer round trips), else `atomic`."""
    if _can_send_by_hand():
        return _send_by_hand(conversation=conversation, sender=sender, client_id=client_id, fields=fields)
    with transaction.atomic():
        return _send_checked(conversation=conversation, sender=sender, client_id=client_id, fields=fields)


def message_send(*, sender: User, conversation: Conversation, text: str, client_id: str) -> Sent:
    clean_text = _clean_text(text)
    clean_client_id = _clean_client_id(client_id)
    ensure_not_suspended(sender)

    def attempt() -> Sent:
        return _send_in_a_transaction(
            conversation=conversation, sender=sender, client_id=clean_client_id, fields={"text": clean_text}
        )

    return _answering_a_race(sender=sender, client_id=clean_client_id, attempt=attempt, answer=lambda sent: sent)


def _session_person(session_key: str) -> User | None:
    """The person of a session as it stands now: None once it ended (signed out, expired, password changed)."""
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    user = get_user(request)
    return user if isinstance(user, User) and user.is_authenticated else None


def socket_sender(
    *, token_digest: str | None, session_key: str | None, conversation_id: str
) -> tuple[User, Conversation]:
    """A socket's person read again, as an API request reads them (by the digest of the token it signed in with, or
    its session's key), with the conversation if they are in it: a token revoked, a session ended or an account
    closed since the socket signed in raises SignedOut; a conversation they are not in, NotFound."""
    if token_digest is not None:
        user, conversation = digest_and_conversation(digest=token_digest, conversation_id=conversation_id)
        if user is None:
            raise SignedOut
        if conversation is None:
            raise NotFound(_("No such conversation."))  # the same answer whether it exists or not
        return user, conversation
    person = _session_person(session_key) if session_key else None
    if person is None:
        raise SignedOut
    return person, conversation_for_participant(user=person, conversation_id=conversation_id)


# Conversations sockets sent text to: public id → (row id, kind), both fixed for a conversation's life. Knowing
# them, a socket's next text skips the lookup: `message_send_from_socket`. Not a sign of membership: that is read
# under the conversation's lock with every message.
_SOCKET_TARGETS: dict[str, tuple[int, str]] = {}
_SOCKET_TARGETS_LIMIT = 10_000


def remember_target(conversation_id: str, known: tuple[int, str]) -> None:
    if len(_SOCKET_TARGETS) >= _SOCKET_TARGETS_LIMIT:
        _SOCKET_TARGETS.clear()
    _SOCKET_TARGETS[conversation_id] = known


def message_send_from_socket(
    *,
    credential: Credential,
    sender: User,
    conversation_id: str,
    text: str,
    client_id: str,
    by_hand: bool = False,
) -> Sent:
    """A text sent over a socket signed in with `credential` (a token's digest or a session's key); `sender` is the
    person as the socket signed in. The same rules as `message_send`, with the person read again with every
    message: a revoked token, an ended session or a closed account raises SignedOut, a suspension
    PermissionDenied, and nothing is stored.

    The first text to a conversation looks up the person and the conversation, then sends as the API does (three
    round trips to PostgreSQL for a token). Later ones, with the conversation's id and kind known, read the person
    in the send's own round trip: one (`_send_at_once`), or, where its condition refuses, the rules decide by hand.
    The limits on messages are judged in the same round trip (chat/limits.py), by the socket's person (their id and
    their account's age never change); the suspension is read fresh.

    From chat/loop_send.py, which tried first: `by_hand`, its one round trip was refused (or its connection broke),
    so the rules decide at once (`_send_by_hand`)."""
    known = _SOCKET_TARGETS.get(conversation_id)
    if known is None or not _can_send_by_hand():
        # `by_hand` does not apply: `message_send` decides it all.
        user, conversation = socket_sender(
            token_digest=credential.token_digest, session_key=credential.session_key, conversation_id=conversation_id
        )
        sent = message_send(sender=user, conversation=conversation, text=text, client_id=client_id)
        remember_target(conversation_id, (conversation.pk, conversation.kind))
        return sent
    clean_text, clean_client_id = _clean_text(text), _clean_client_id(client_id)
    conversation = Conversation(pk=known[0], public_id=conversation_id, kind=known[1])

    def attempt() -> Sent:
        fields = {"text": clean_text}
        at_once = None
        if not by_hand:
            at_once = _send_at_once(
                conversation=conversation,
                sender=sender,
                client_id=clean_client_id,
                fields=fields,
                credential=credential,
            )
        if at_once is not None:
            return at_once
        if credential.token_digest is not None:
            return _send_by_hand(  # the rules say what the condition refused
                conversation=conversation,
                sender=sender,
                client_id=clean_client_id,
                fields=fields,
                signed_by=credential.token_digest,
            )
        person = _session_person(credential.session_key or "")  # as a request reads it
        if person is None:
            raise SignedOut
        ensure_not_suspended(person)
        return _send_by_hand(conversation=conversation, sender=person, client_id=clean_client_id, fields=fields)

    return _answering_a_race(sender=sender, client_id=clean_client_id, attempt=attempt, answer=lambda sent: sent)


def message_send_with(
    *, sender: User, conversation: Conversation, client_id: str, fields: dict[str, Any], on_failure: Callable[[], None]
) -> Sent:
    """Send a message whose attachment is already stored; `on_failure` removes it if nothing was written."""

    def attempt() -> Sent:
        return _send_in_a_transaction(conversation=conversation, sender=sender, client_id=client_id, fields=fields)

    try:
        sent = _answering_a_race(sender=sender, client_id=client_id, attempt=attempt, answer=lambda sent: sent)
    except BaseException:
        on_failure()
        raise
    if not sent.created:
        on_failure()  # a resend: the first message keeps its own attachment
    return sent


def check_message_rate(sender: User) -> None:
    """Before a message's attachment is processed: refused now if the person is suspended or at a limit on
    messages (chat/limits.py; the send judges again with the message)."""
    ensure_not_suspended(sender)
    limits.check(sender, timezone.now())


def _as_recipient(user: User, conversation: Conversation) -> Conversation:
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.kind != ConversationKind.DIRECT:
        raise ServiceError("not_a_request", _("Only a request can be accepted or ignored."), status=409)
    if locked.started_by_id == user.pk:
        raise PermissionDenied("not_recipient", _("Only the person who was approached can answer a request."))
    return locked


@transaction.atomic
def conversation_accept(*, user: User, conversation: Conversation) -> Conversation:
    locked = _as_recipient(user, conversation)
    if locked.state == ConversationState.REQUEST:
        locked.state = ConversationState.ACTIVE
        locked.save(update_fields=["state"])
        Participant.objects.filter(conversation=locked, user=user).update(ignored=False)
        transaction.on_commit(lambda: announce_state(locked, "conversation.accepted"))
    return locked


@transaction.atomic
def conversation_ignore(*, user: User, conversation: Conversation) -> Conversation:
    """Hide a request. The knocker is not told; they may still use what is left of their 3 messages."""
    locked = _as_recipient(user, conversation)
    if locked.state != ConversationState.REQUEST:
        raise ServiceError("not_a_request", _("Only a request can be ignored."), status=409)
    Participant.objects.filter(conversation=locked, user=user).update(ignored=True)
    return locked


@transaction.atomic
def conversation_read(*, user: User, conversation: Conversation, seq: int) -> int:
    """Mark messages up to `seq` read; the others see "read" under their last message."""
    top = conversation.next_seq - 1
    if seq < 0 or seq > top:
        raise ValidationFailed({"seq": [_("No message has that number.")]})
    updated = Participant.objects.filter(conversation=conversation, user=user, last_read_seq__lt=seq).update(
        last_read_seq=seq
    )
    if updated:
        transaction.on_commit(
            lambda: announce_state(conversation, "read", extra={"seq": seq, "username": user.username})
        )
    return seq
