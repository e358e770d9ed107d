"""The permission matrix's WebSocket door (see test_permission_matrix.py for the world and the roles).

Over /ws/ a conversation is reached four ways: its events arrive by themselves (the socket is subscribed to
everything its person may see), `resume` asks for what was missed, `typing` tells the others, `send` sends a
message. For each role
below, through a session cookie and through a token in the first frame, only the rightful get anything; the
others are told `not_found`, exactly as for a conversation that doesn't exist."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.models import User
from accounts.services import token_issue
from chat import services
from chat.models import Conversation
from same.asgi import application
from tests.factories import PASSWORD
from tests.test_permission_matrix import (
    BLOCKED,
    EX_MEMBER,
    IN_GROUP,
    MEMBER,
    MODERATOR,
    OWNER,
    SIGNED_IN,
    STRANGER,
    SUSPENDED,
    World,
    build_world,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HOST = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]

# frame → who gets an answer other than `not_found` (and what: "events", "nothing", or an error code)
WS_MATRIX = {
    "resume": {OWNER: "events", MEMBER: "events", SUSPENDED: "events"},
    "typing": {OWNER: "nothing", MEMBER: "nothing", SUSPENDED: "suspended"},
    "send": {OWNER: "sent", MEMBER: "sent", SUSPENDED: "suspended"},
}


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _session_cookie(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.EmailOrUsernameBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return str(session.session_key)


async def _socket(user: User, how: str, key: str | None = None) -> WebsocketCommunicator:
    """`user`'s socket, signed in `how`; `key`: a session made for them beforehand (`_session_cookie`)."""
    if how == "session":
        key = key or await database_sync_to_async(_session_cookie)(user)
        ws = WebsocketCommunicator(application, "/ws/", headers=[*HOST, (b"cookie", f"sessionid={key}".encode())])
        assert (await ws.connect())[0]
    else:
        issued = await database_sync_to_async(token_issue)(login=user.username, password=PASSWORD, client_ip="x")
        ws = WebsocketCommunicator(application, "/ws/", headers=HOST)
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "auth", "token": issued.secret})
    assert await ws.receive_json_from() == {"type": "auth.ok", "username": user.username}
    return ws


@pytest.mark.parametrize("how", ["session", "token"])
@pytest.mark.parametrize("frame", list(WS_MATRIX))
async def test_frames_about_a_conversation_answer_only_its_members(frame, how, media_root):
    """Ensure that resume, typing and send work for the group's members and say `not_found` to everyone else."""
    world: World = await database_sync_to_async(build_world)(media_root)
    group = world.ids["group"]
    for role in SIGNED_IN:
        ws = await _socket(world.people[role], how)
        await ws.send_json_to(
            {"type": frame, "conversation_id": group, "after": 0, "text": "hi", "client_id": f"{role}-{how}"}
        )
        want = WS_MATRIX[frame].get(role, "not_found")
        if want == "events":
            first = await ws.receive_json_from()
            assert (role, first["type"], first["conversation_id"], first["seq"]) == (role, "message.new", group, 1)
        elif want == "sent":  # the answer, and the echo every socket of the sender gets, in either order
            answers = [await ws.receive_json_from(), await ws.receive_json_from()]
            assert (role, sorted(a["type"] for a in answers)) == (role, ["message.new", "sent"])
        elif want == "nothing":
            await ws.send_json_to({"type": "ping"})
            assert (role, await ws.receive_json_from()) == (role, {"type": "pong"})
        else:
            answer = await ws.receive_json_from()
            assert (role, answer["type"], answer["code"]) == (role, "error", want)
            assert group not in answer["message"]
        await ws.disconnect()


@pytest.mark.parametrize("how", ["session", "token"])
async def test_a_conversations_events_reach_only_its_members(how, media_root):
    """Ensure that a message in the group reaches its members' sockets and no one else's — not the one who left,
    the blocked, a stranger or a moderator."""
    world: World = await database_sync_to_async(build_world)(media_root)
    roles = [role for role in SIGNED_IN if role != OWNER]
    # Every session saved before any socket opens: on the SQLite test database (in memory, its cache shared) a
    # socket's own read of its session, in another thread, could hold the table a moment as the next was written,
    # and SQLite refuses such a write at once ("database table is locked") instead of waiting as it does on a file.
    keys = {role: await database_sync_to_async(_session_cookie)(world.people[role]) for role in roles}
    sockets = {role: await _socket(world.people[role], how, keys[role] if how == "session" else None) for role in roles}
    group = await database_sync_to_async(Conversation.objects.get)(public_id=world.ids["group"])
    await database_sync_to_async(services.message_send)(
        sender=world.people[OWNER], conversation=group, text="Who's awake?", client_id="late"
    )
    for role, ws in sockets.items():
        if role in IN_GROUP:
            event = await ws.receive_json_from(timeout=3)
            assert (role, event["type"], event["message"]["text"]) == (role, "message.new", "Who's awake?")
        else:
            assert role in {EX_MEMBER, BLOCKED, STRANGER, MODERATOR}
            assert await ws.receive_nothing(timeout=0.3), role
        await ws.disconnect()


async def test_a_signed_out_socket_is_closed_at_its_first_frame(media_root):
    """Ensure that a socket without a session or token can't ask about a conversation at all."""
    world: World = await database_sync_to_async(build_world)(media_root)
    ws = WebsocketCommunicator(application, "/ws/", headers=HOST)
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "resume", "conversation_id": world.ids["group"], "after": 0})
    assert await ws.receive_output() == {"type": "websocket.close", "code": 4401}
