"""A socket's text sent from the event loop itself, with no thread: `chat.services._send_at_once`'s one round trip,
over one of the loop's own PostgreSQL connections (core/loop_db.py), its limits on messages judged in it too
(chat/limits.py).

For the plain case only, as `_send_at_once` is: a text, to a conversation this process already
sent to (`services._SOCKET_TARGETS`), and the rules' condition in the INSERT allowing it. Anything else goes the
thread's way (`services.message_send_from_socket`), told whether the one round trip was refused by the rules'
condition (the rules then say why) or never sent (no free connection).
The rules, the numbering, the answer to a resend and what is announced are the thread's, read from the same
statements; what a thread's send wakes — the pool's thread, then the loop again — is what this saves (on the
machine of docs/performance.md, ~0.3 ms of a lone pair's 2 ms delivery, "A socket's text from the event loop").
"""

import enum
import json
import logging
from typing import Any

from channels.db import database_sync_to_async

from accounts.models import User
from core import loop_db
from core.prepared import Prepared
from core.realtime import Credential
from push.tasks import notify_new_message

from . import services
from .events import announce_message, message_payload
from .models import Conversation, ConversationKind

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    """Why the loop did not send it, for the thread's way to carry on from."""

    NOT_TRIED = "not tried"  # nothing done here (no connection free, or not a conversation found): the thread's way
    REFUSED = "refused"  # the one round trip refused by the rules' condition, rolled back
    BROKE = "broke"  # the connection broke with the string sent: stored or not, unknown


_STATEMENTS: tuple[Prepared, ...] = tuple(
    {
        statement.name: statement
        for kind in (ConversationKind.DIRECT, ConversationKind.GROUP)
        for signed_by in ("token", "session")
        for statement in services._at_once_statements(kind, signed_by)
    }.values()
)


def _prepare_statements() -> None:
    loop_db.prepare_on_connect(*_STATEMENTS, _LOOK_UP)


async def send_text(
    *, credential: Credential, sender: User, conversation_id: str, text: str, client_id: str
) -> services.Sent | Outcome:
    """Store and announce a text from a socket on the loop, or say why not (`Outcome`). Raises what the thread's
    way raises for bad input, before anything is stored."""
    if not loop_db.available():
        return Outcome.NOT_TRIED
    clean_text, clean_client_id = services._clean_text(text), services._clean_client_id(client_id)
    known = services._SOCKET_TARGETS.get(conversation_id)
    import psycopg  # PostgreSQL's driver (loop_db.available(): it is the database)

    try:
        async with loop_db.borrowed() as conn:
            if conn is None:
                return Outcome.NOT_TRIED
            if known is None:  # the first text to it from this process: its row id and kind, one round trip more
                known = await _look_up(conn, conversation_id)
                if known is None:
                    return Outcome.NOT_TRIED  # no such conversation: the thread's way answers as for a stranger
                services.remember_target(conversation_id, known)
            conversation = Conversation(pk=known[0], public_id=conversation_id, kind=known[1])
            statements = services._at_once_statements(conversation.kind, services._signed_by(credential))
            plan = services.at_once(
                conversation=conversation,
                sender=sender,
                client_id=clean_client_id,
                fields={"text": clean_text},
                credential=credential,
                names=[statement.execute for statement in statements],
            )
            stored = await _run(conn, plan)
            if stored is None:
                return Outcome.REFUSED
    except psycopg.Error as error:
        # The connection broke (and was closed), the string sent or not: the thread's way by hand stores the text,
        # or finds it stored and answers it as a resend (and announces it, as nobody may have yet).
        logger.warning("a text sent from the loop met %s: sent again through a thread", error)
        return Outcome.BROKE
    message = stored.sent.message
    announce_message(message, stored.listeners)
    if stored.wants_push:  # queued through the database: in a thread, after the message went out
        await database_sync_to_async(notify_new_message, thread_sensitive=False)(message, listening=True)
    return stored.sent


_LOOK_UP = Prepared("same_chat_conversation_by_id", "SELECT id, kind FROM chat_conversation WHERE public_id = %s")


async def _look_up(conn: Any, conversation_id: str) -> tuple[int, str] | None:
    """A conversation's row id and kind (fixed for its life), whoever asks: not a sign of membership, which the one
    round trip's condition reads."""
    cursor = await conn.execute(_LOOK_UP.execute, [conversation_id])
    row = await cursor.fetchone()
    return (row[0], row[1]) if row is not None else None


async def _run(conn: Any, plan: services.AtOnce) -> services.Stored | None:
    """The string on `conn`; None if the rules' condition (or a used client_id) refused it, rolled back."""
    import psycopg

    cursor = conn.cursor()
    try:
        await cursor.execute(plan.sql, plan.params)
    except psycopg.IntegrityError:
        await conn.execute("ROLLBACK")  # nothing stored, no number taken
        return None
    for _answer in range(plan.skip):
        cursor.nextset()  # past BEGIN's answer
    signer = await cursor.fetchone()
    cursor.nextset()
    number = await cursor.fetchone()
    cursor.nextset()
    members = await cursor.fetchall()
    cursor.nextset()
    inserted = await cursor.fetchone()
    return services.stored_at_once(
        plan, signer=signer, number=number, members=members, inserted=inserted, alias="default"
    )


def sent_frame(sent: services.Sent) -> str:
    return json.dumps({"type": "sent", "created": sent.created, "message": message_payload(sent.message)})


_prepare_statements()
