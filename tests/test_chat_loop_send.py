"""A socket's text sent from the event loop itself (chat/loop_send.py, core/loop_db.py): the one round trip of
`_send_at_once` over the loop's own PostgreSQL connection, no thread (the first text to a conversation looks its row
up first, on the same connection). Whatever the loop does not send — a refusal
of the rules' condition, no free connection, a connection that broke — the thread's way sends or refuses as the
rules say. The limits on messages are judged in the same statement, from the sender's stored messages
(chat/limits.py): nothing to count before it, nothing counted twice."""

import asyncio
from datetime import timedelta

import psycopg
import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.utils import timezone

from accounts.models import AccessToken
from chat import loop_send, services
from chat.models import Conversation, Message, Participant
from core import loop_db
from moderation.models import Block
from tests.test_chat import _connect_as
from tests.test_chat_ws_send import _frames, _pair, _stored, a_stranger_is_told_not_found

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture(autouse=True)
def postgres_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("the loop's own connections are PostgreSQL's")
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (999, 60), "message_new_account": (999, 60)}
    services._SOCKET_TARGETS.clear()
    yield
    services._SOCKET_TARGETS.clear()


@pytest.fixture
def through_threads(monkeypatch) -> list[dict]:
    """Every text that went the thread's way, with what it was told."""
    calls: list[dict] = []
    real = services.message_send_from_socket

    def recorded(**kwargs):
        calls.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(services, "message_send_from_socket", recorded)
    return calls


async def _send(ws, conversation, client_id, text="hello") -> dict:
    await ws.send_json_to(
        {"type": "send", "conversation_id": conversation.public_id, "text": text, "client_id": client_id}
    )
    frames = await _frames(ws, 1)
    while frames[-1]["type"] == "message.new":  # the echo to the sender's own socket, before or after the answer
        frames = await _frames(ws, 1)
    return frames[-1]


async def _drain(ws) -> list[dict]:
    frames = []
    while not await ws.receive_nothing(timeout=0.2):
        frames.append(await ws.receive_json_from())
    return frames


async def test_texts_are_stored_announced_and_answered_from_the_loop(through_threads):
    """Ensure that the first and a later text to a conversation are stored with consecutive numbers, answered
    `sent`, and reach the other person once each, with no thread involved."""
    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws, ben_ws = await _connect_as(ana), await _connect_as(ben)
    first = await _send(ana_ws, conversation, "a1")
    assert (first["type"], first["created"], first["message"]["seq"]) == ("sent", True, 1)
    answer = await _send(ana_ws, conversation, "a2", text="from the loop")
    assert (answer["type"], answer["created"], answer["message"]["seq"]) == ("sent", True, 2)
    assert answer["message"]["sender"] == {"username": "ana"}
    assert through_threads == [], "a text went through a thread"
    heard = [frame for frame in await _drain(ben_ws) if frame["type"] == "message.new"]
    assert [(frame["seq"], frame["message"]["text"]) for frame in heard] == [(1, "hello"), (2, "from the loop")]
    assert heard[1]["message"]["id"] == answer["message"]["id"]
    assert sorted(await database_sync_to_async(_stored)(conversation)) == [
        ("from the loop", "a2", 2),
        ("hello", "a1", 1),
    ]
    participant = await database_sync_to_async(Participant.objects.get)(conversation=conversation, user=ana)
    assert participant.last_read_seq == 2  # the sender's read mark moved with it
    await ana_ws.disconnect()
    await ben_ws.disconnect()


async def test_a_resend_from_the_loop_answers_the_first_message_and_counts_nothing(settings, through_threads):
    """Ensure that a resend refused by the loop's condition is answered by the rules (created false, the first
    message), and, storing nothing, counts nothing: with a limit of 2 the second new text is still allowed."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (2, 60), "message_new_account": (2, 60)}
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    first = await _send(ana_ws, conversation, "a1")
    again = await _send(ana_ws, conversation, "a1", text="typed twice")
    assert (again["type"], again["created"], again["message"]["id"]) == ("sent", False, first["message"]["id"])
    assert [call["by_hand"] for call in through_threads] == [True]  # the resend only
    second = await _send(ana_ws, conversation, "a2")
    assert (second["type"], second["created"]) == ("sent", True)
    limited = await _send(ana_ws, conversation, "a3")
    assert (limited["type"], limited["code"], limited["client_id"]) == ("error", "rate_limited", "a3")
    assert sorted(await database_sync_to_async(_stored)(conversation)) == [("hello", "a1", 1), ("hello", "a2", 2)]
    await ana_ws.disconnect()


def _remove(conversation, person):
    Participant.objects.filter(conversation=conversation, user=person).delete()


def _suspend(person):
    type(person).objects.filter(pk=person.pk).update(suspended_until=timezone.now() + timedelta(days=1))


def _close(conversation):
    Conversation.objects.filter(pk=conversation.pk).update(state="closed")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda conversation, ana, ben: Block.objects.create(blocker=ben, blocked=ana), "blocked"),
        (lambda conversation, ana, ben: _remove(conversation, ana), "not_found"),
        (lambda conversation, ana, ben: _suspend(ana), "suspended"),
    ],
    ids=["blocked", "no-longer-a-member", "suspended"],
)
async def test_what_the_loops_condition_refuses_the_rules_refuse_storing_nothing(through_threads, change, code):
    """Ensure that a text the loop's condition refuses is refused by the rules with their own error, with nothing
    stored and no number taken."""
    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    await _send(ana_ws, conversation, "a1")
    await database_sync_to_async(change)(conversation, ana, ben)
    refused = await _send(ana_ws, conversation, "a2")
    assert (refused["type"], refused["code"], refused["client_id"]) == ("error", code, "a2")
    assert through_threads[-1]["by_hand"] is True
    assert await database_sync_to_async(_stored)(conversation) == [("hello", "a1", 1)]
    fresh = await database_sync_to_async(Conversation.objects.get)(pk=conversation.pk)
    assert fresh.next_seq == 2
    await ana_ws.disconnect()


async def test_a_revoked_token_or_a_closed_conversation_stops_a_text_from_the_loop(through_threads):
    """Ensure that after the conversation closed the text is refused, and after the token was revoked (behind the
    services' back, so no socket was told) the socket is closed with 4401 at its next text, storing nothing."""
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    await _send(ana_ws, conversation, "a1")
    await database_sync_to_async(_close)(conversation)
    refused = await _send(ana_ws, conversation, "a2")
    assert (refused["type"], refused["client_id"]) == ("error", "a2")
    await database_sync_to_async(Conversation.objects.filter(pk=conversation.pk).update)(state="active")
    await database_sync_to_async(AccessToken.objects.filter(user=ana).delete)()
    await ana_ws.send_json_to(
        {"type": "send", "conversation_id": conversation.public_id, "text": "x", "client_id": "a3"}
    )
    assert await ana_ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await database_sync_to_async(_stored)(conversation) == [("hello", "a1", 1)]


async def test_with_no_free_connection_the_thread_sends_it_within_the_same_limit(settings, through_threads):
    """Ensure that when the loop has no connection to lend, the text goes through a thread in one round trip,
    under the same limit on messages: the loop's text and the thread's make two of two."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (2, 60), "message_new_account": (2, 60)}
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    await _send(ana_ws, conversation, "a1")
    settings.LOOP_DB_CONNECTIONS = 1
    async with loop_db.borrowed() as held:  # this loop's only connection, lent elsewhere
        assert held is not None
        answer = await _send(ana_ws, conversation, "a2")
    assert (answer["type"], answer["created"], answer["message"]["seq"]) == ("sent", True, 2)
    assert through_threads[-1]["by_hand"] is False
    assert (await _send(ana_ws, conversation, "a3"))["code"] == "rate_limited"
    await ana_ws.disconnect()


async def test_a_connection_that_broke_is_dropped_and_the_next_text_goes_through(through_threads):
    """Ensure that a loop connection whose backend was killed while idle is never lent again: the next text is
    sent from the loop on a new connection."""
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    await _send(ana_ws, conversation, "a1")
    await _send(ana_ws, conversation, "a2")  # the loop's connection opened
    await database_sync_to_async(_kill_loop_connections)()
    await asyncio.sleep(0.2)  # the server's goodbye reaches the socket
    answer = await _send(ana_ws, conversation, "a3")
    assert (answer["type"], answer["message"]["seq"]) == ("sent", 3)
    assert through_threads == []
    await ana_ws.disconnect()


async def test_a_text_whose_answer_was_lost_is_answered_and_announced_by_the_thread(monkeypatch, through_threads):
    """Ensure that when the loop's connection breaks after the string was stored (its answer lost), the thread
    finds the message stored, answers it as sent, and announces it, as nobody may have: stored once."""
    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws, ben_ws = await _connect_as(ana), await _connect_as(ben)
    await _send(ana_ws, conversation, "a1")
    await _drain(ben_ws)
    real = loop_send._run

    async def stored_then_lost(conn, plan):
        await real(conn, plan)  # stored and committed, not announced
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(loop_send, "_run", stored_then_lost)
    answer = await _send(ana_ws, conversation, "a2", text="lost answer")
    assert (answer["type"], answer["created"], answer["message"]["seq"]) == ("sent", False, 2)
    assert through_threads[-1]["by_hand"] is True
    heard = [frame for frame in await _drain(ben_ws) if frame["type"] == "message.new"]
    assert [(frame["seq"], frame["message"]["text"]) for frame in heard] == [(2, "lost answer")]
    assert await database_sync_to_async(Message.objects.filter(conversation=conversation).count)() == 2
    await ana_ws.disconnect()
    await ben_ws.disconnect()


async def test_a_group_text_from_the_loop_reaches_every_member_who_hears_it(through_threads):
    """Ensure that in a group the loop's text reaches every member's socket but not one who ignores the
    conversation."""
    from tests.factories import make_user
    from tests.test_chat_groups import a_group, joined

    def group_of_three():
        owner, group = a_group()
        ana, ben = make_user(username="ana"), make_user(username="ben")
        joined(group, owner, ana, ben)
        Participant.objects.filter(conversation=group, user=ben).update(ignored=True)
        return group, owner, ana, ben

    group, owner, ana, ben = await database_sync_to_async(group_of_three)()
    owner_ws, ana_ws, ben_ws = await _connect_as(owner), await _connect_as(ana), await _connect_as(ben)
    await _drain(owner_ws)
    await _send(ana_ws, group, "a1")
    answer = await _send(ana_ws, group, "a2", text="to the group")
    assert (answer["type"], answer["created"]) == ("sent", True)
    assert through_threads == []
    heard = [frame["message"]["text"] for frame in await _drain(owner_ws) if frame["type"] == "message.new"]
    assert heard == ["hello", "to the group"]
    assert [frame for frame in await _drain(ben_ws) if frame["type"] == "message.new"] == []
    for ws in (owner_ws, ana_ws, ben_ws):
        await ws.disconnect()


def _kill_loop_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'same-loop' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


def _loop_connections_open() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'same-loop' AND datname = current_database()"
        )
        return cursor.fetchone()[0]


async def test_close_all_closes_the_loops_idle_connections(through_threads):
    """Ensure that the loop's connections show as `same-loop` and `close_all` (run after every test) closes them."""
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    await _send(ana_ws, conversation, "a1")
    await _send(ana_ws, conversation, "a2")
    assert await database_sync_to_async(_loop_connections_open)() == 1
    loop_db.close_all()
    for _ in range(50):
        if await database_sync_to_async(_loop_connections_open)() == 0:
            break
        await asyncio.sleep(0.05)
    assert await database_sync_to_async(_loop_connections_open)() == 0
    await ana_ws.disconnect()


async def test_the_limit_on_messages_is_judged_in_the_loops_statement(settings, through_threads):
    """Ensure that at the limit the loop's own statement refuses the text (no count asked of anyone before it):
    the rules answer `rate_limited`, nothing is stored and no number taken; once the oldest message leaves the
    minute, the next text goes from the loop again with the next number."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (2, 60), "message_new_account": (2, 60)}
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    for client_id in ("a1", "a2"):
        assert (await _send(ana_ws, conversation, client_id))["type"] == "sent"
    assert through_threads == []
    limited = await _send(ana_ws, conversation, "a3")
    assert (limited["type"], limited["code"], limited["client_id"]) == ("error", "rate_limited", "a3")
    assert [call["by_hand"] for call in through_threads] == [True]  # refused by the condition, then by the rules
    assert len(await database_sync_to_async(_stored)(conversation)) == 2

    def first_leaves_the_minute():
        first = Message.objects.get(conversation=conversation, seq=1)
        Message.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(seconds=61))

    await database_sync_to_async(first_leaves_the_minute)()
    answer = await _send(ana_ws, conversation, "a3")
    assert (answer["type"], answer["created"], answer["message"]["seq"]) == ("sent", True, 3)
    assert len(through_threads) == 1  # from the loop
    await ana_ws.disconnect()


async def _session_socket(user):
    from channels.testing import WebsocketCommunicator

    from same.asgi import application
    from tests.test_permission_matrix_ws import HOST, _session_cookie

    key = await database_sync_to_async(_session_cookie)(user)
    ws = WebsocketCommunicator(application, "/ws/", headers=[*HOST, (b"cookie", f"sessionid={key}".encode())])
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from())["type"] == "auth.ok"
    return ws, key


async def test_a_web_sockets_later_text_goes_from_the_loop_until_its_session_ends(through_threads):
    """Ensure that the web's socket (a session) sends its later texts from the loop too, and once its session is
    gone (deleted behind the services' back, so no socket was told) its next text closes it with 4401, storing
    nothing."""
    from django.contrib.sessions.models import Session

    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws, key = await _session_socket(ana)
    ben_ws = await _connect_as(ben)
    assert (await _send(ana_ws, conversation, "a1"))["type"] == "sent"
    answer = await _send(ana_ws, conversation, "a2", text="from the web")
    assert (answer["type"], answer["created"], answer["message"]["seq"]) == ("sent", True, 2)
    assert through_threads == [], "a text went through a thread"
    heard = [frame["message"]["text"] for frame in await _drain(ben_ws) if frame["type"] == "message.new"]
    assert heard == ["hello", "from the web"]
    await _drain(ana_ws)  # the echo of its own text
    await database_sync_to_async(Session.objects.filter(session_key=key).delete)()
    await ana_ws.send_json_to(
        {"type": "send", "conversation_id": conversation.public_id, "text": "x", "client_id": "a3"}
    )
    assert await ana_ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert through_threads[-1]["by_hand"] is True
    assert len(await database_sync_to_async(_stored)(conversation)) == 2
    await ben_ws.disconnect()


async def test_a_stranger_or_an_unknown_id_is_told_not_found(settings, through_threads):
    """Ensure that someone outside a conversation, sending first from the loop (its row found, the condition
    refusing), and an id that names no conversation are both told `not_found`, storing nothing."""
    await a_stranger_is_told_not_found()  # tests/test_chat_ws_send.py's, from the loop here
    assert [call["by_hand"] for call in through_threads] == [True, False]
