"""Sending a message over the WebSocket: the `send` frame (chat/realtime.py), stored and announced as the API's
`POST /conversations/{id}/messages` stores it, answered `sent` or `error` on the same socket."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.db import connection

from accounts.models import AccessToken
from chat.models import Conversation, Message, Participant
from moderation.models import Block
from same.asgi import application
from tests.factories import make_user
from tests.test_chat import _connect_as
from tests.test_permission_matrix_ws import HOST, _session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@pytest.fixture
def chatty(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (999, 60), "message_new_account": (999, 60)}


def _pair(state: str = "active") -> tuple[Conversation, list]:
    ana, ben = make_user(username="ana"), make_user(username="ben")
    conversation = Conversation.objects.create(kind="direct", state=state, started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=u) for u in (ana, ben)])
    return conversation, [ana, ben]


async def _frames(ws: WebsocketCommunicator, count: int) -> list[dict]:
    return [await ws.receive_json_from(timeout=5) for _ in range(count)]


def _stored(conversation: Conversation) -> list[tuple[str, str, int]]:
    return list(Message.objects.filter(conversation=conversation).values_list("text", "client_id", "seq"))


async def test_a_message_sent_over_the_socket_is_stored_answered_and_reaches_the_other_once(chatty):
    """Ensure that `send` stores the message, answers `sent` with it on the sender's socket (beside the echo every
    socket of the sender gets), and the other person's socket gets `message.new` with the same id; a resend with
    the same client_id answers the first message (`created: false`) and writes and announces nothing."""
    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws, ben_ws = await _connect_as(ana), await _connect_as(ben)
    frame = {"type": "send", "conversation_id": conversation.public_id, "text": "  same here ", "client_id": "c1"}
    await ana_ws.send_json_to(frame)
    by_type = {event["type"]: event for event in await _frames(ana_ws, 2)}
    assert set(by_type) == {"sent", "message.new"}
    sent = by_type["sent"]
    assert sent["created"] is True
    assert (sent["message"]["text"], sent["message"]["client_id"], sent["message"]["seq"]) == ("same here", "c1", 1)
    assert sent["message"]["sender"] == {"username": "ana"}
    heard = await ben_ws.receive_json_from(timeout=5)
    assert (heard["type"], heard["message"]["id"]) == ("message.new", sent["message"]["id"])
    assert await database_sync_to_async(_stored)(conversation) == [("same here", "c1", 1)]

    await ana_ws.send_json_to(frame)
    again = await ana_ws.receive_json_from(timeout=5)
    assert (again["type"], again["created"], again["message"]["id"]) == ("sent", False, sent["message"]["id"])
    assert await ben_ws.receive_nothing(timeout=0.3)
    assert await database_sync_to_async(_stored)(conversation) == [("same here", "c1", 1)]
    await ana_ws.disconnect()
    await ben_ws.disconnect()


@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ({"text": "   ", "client_id": "c1"}, "invalid", "text"),
        ({"text": "hi", "client_id": ""}, "invalid", "client_id"),
        ({"text": 7, "client_id": "c1"}, "invalid", "text"),
        ({"text": "hi", "client_id": "c1", "sticker_id": "nope"}, "not_found", "sticker_id"),
        ({"text": "hi", "client_id": "c1", "post_id": "nope"}, "not_found", "post_id"),
    ],
)
async def test_a_bad_send_is_refused_with_its_field_and_client_id_and_stores_nothing(chatty, frame, code, field):
    """Ensure that a send with bad fields is answered with an `error` naming the field and carrying the frame's
    client_id; nothing is stored, the other person hears nothing and the socket stays open."""
    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws, ben_ws = await _connect_as(ana), await _connect_as(ben)
    await ana_ws.send_json_to({"type": "send", "conversation_id": conversation.public_id, **frame})
    error = await ana_ws.receive_json_from(timeout=5)
    assert (error["type"], error["code"], error["frame"]) == ("error", code, "send")
    assert field in error["fields"]
    if isinstance(frame["client_id"], str) and frame["client_id"]:
        assert error["client_id"] == frame["client_id"]
    assert await ben_ws.receive_nothing(timeout=0.3)
    assert await database_sync_to_async(_stored)(conversation) == []
    await ana_ws.send_json_to({"type": "ping"})
    assert await ana_ws.receive_json_from() == {"type": "pong"}
    await ana_ws.disconnect()
    await ben_ws.disconnect()


async def test_the_rules_of_the_api_hold_blocked_and_rate_limited(settings):
    """Ensure that the send obeys the same rules as the API: someone blocked can't be reached, and past the
    message rate limit the answer is `rate_limited`, with nothing stored either time."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (1, 60), "message_new_account": (1, 60)}
    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    await ana_ws.send_json_to(
        {"type": "send", "conversation_id": conversation.public_id, "text": "1", "client_id": "a"}
    )
    assert {event["type"] for event in await _frames(ana_ws, 2)} == {"sent", "message.new"}
    await ana_ws.send_json_to(
        {"type": "send", "conversation_id": conversation.public_id, "text": "2", "client_id": "b"}
    )
    limited = await ana_ws.receive_json_from(timeout=5)
    assert (limited["type"], limited["code"], limited["client_id"]) == ("error", "rate_limited", "b")

    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (999, 60), "message_new_account": (999, 60)}
    await database_sync_to_async(Block.objects.create)(blocker=ben, blocked=ana)
    await ana_ws.send_json_to(
        {"type": "send", "conversation_id": conversation.public_id, "text": "3", "client_id": "c"}
    )
    blocked = await ana_ws.receive_json_from(timeout=5)
    assert (blocked["type"], blocked["code"]) == ("error", "blocked")
    assert [text for text, _c, _s in await database_sync_to_async(_stored)(conversation)] == ["1"]
    await ana_ws.disconnect()


async def test_a_stranger_is_told_not_found_as_for_no_conversation(chatty):
    """Ensure that someone outside the conversation gets `not_found`, the same as for an id that doesn't exist."""
    await a_stranger_is_told_not_found()


async def a_stranger_is_told_not_found() -> None:
    conversation, _people = await database_sync_to_async(_pair)()
    eve = await database_sync_to_async(make_user)(username="eve")
    eve_ws = await _connect_as(eve)
    for conversation_id in (conversation.public_id, "no-such-id"):
        await eve_ws.send_json_to({"type": "send", "conversation_id": conversation_id, "text": "hi", "client_id": "e"})
        answer = await eve_ws.receive_json_from(timeout=5)
        assert (answer["type"], answer["code"]) == ("error", "not_found")
    assert await database_sync_to_async(_stored)(conversation) == []
    await eve_ws.disconnect()


async def test_a_socket_whose_token_was_revoked_is_closed_and_sends_nothing(chatty):
    """Ensure that a socket signed in with a token that has since been revoked is closed with 4401 at its next
    send, and the message is not stored."""
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana_ws = await _connect_as(ana)
    await database_sync_to_async(AccessToken.objects.filter(user=ana).delete)()
    await ana_ws.send_json_to(
        {"type": "send", "conversation_id": conversation.public_id, "text": "hi", "client_id": "r"}
    )
    assert await ana_ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert await database_sync_to_async(_stored)(conversation) == []


async def test_a_session_socket_sends_until_its_session_ends(chatty):
    """Ensure that the web's socket (session cookie) can send, and once the session ended (signed out
    elsewhere) it is closed with 4401 at its next send, storing nothing."""
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    key = await database_sync_to_async(_session_cookie)(ana)
    ws = WebsocketCommunicator(application, "/ws/", headers=[*HOST, (b"cookie", f"sessionid={key}".encode())])
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from())["type"] == "auth.ok"
    await ws.send_json_to({"type": "send", "conversation_id": conversation.public_id, "text": "one", "client_id": "s1"})
    assert {event["type"] for event in await _frames(ws, 2)} == {"sent", "message.new"}
    await database_sync_to_async(Session.objects.filter(session_key=key).delete)()
    await ws.send_json_to({"type": "send", "conversation_id": conversation.public_id, "text": "two", "client_id": "s2"})
    assert await ws.receive_output(timeout=5) == {"type": "websocket.close", "code": 4401}
    assert [text for text, _c, _s in await database_sync_to_async(_stored)(conversation)] == ["one"]


async def test_errors_are_in_the_senders_language(chatty):
    """Ensure that the refusal reads in the sender's language, as the API's does."""
    conversation, (ana, _ben) = await database_sync_to_async(_pair)()
    ana.language = "zh-hans"
    await database_sync_to_async(ana.save)(update_fields=["language"])
    ana_ws = await _connect_as(ana)
    await ana_ws.send_json_to({"type": "send", "conversation_id": conversation.public_id, "text": "", "client_id": "z"})
    error = await ana_ws.receive_json_from(timeout=5)
    assert error["code"] == "invalid"
    assert not error["fields"]["text"][0].isascii()
    await ana_ws.disconnect()


async def test_sends_from_two_sockets_at_once_are_both_stored_in_order(chatty):
    """Ensure that two people sending at the same moment both get their message stored with distinct numbers."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the PostgreSQL run exercises real concurrency")
    conversation, (ana, ben) = await database_sync_to_async(_pair)()
    ana_ws, ben_ws = await _connect_as(ana), await _connect_as(ben)
    for ws, client_id in ((ana_ws, "x"), (ben_ws, "y")):
        await ws.send_json_to(
            {"type": "send", "conversation_id": conversation.public_id, "text": client_id, "client_id": client_id}
        )
    answers = await asyncio.gather(_frames(ana_ws, 3), _frames(ben_ws, 3))
    for frames in answers:
        assert sorted(event["type"] for event in frames) == ["message.new", "message.new", "sent"]
    stored = await database_sync_to_async(_stored)(conversation)
    assert sorted(seq for _t, _c, seq in stored) == [1, 2]
    await ana_ws.disconnect()
    await ben_ws.disconnect()
