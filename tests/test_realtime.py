import json

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from accounts.services import token_issue
from core.realtime import user_group
from same.asgi import application
from tests.factories import PASSWORD, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

HOST = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


async def connect(headers=HOST):
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _ = await communicator.connect()
    assert connected
    return communicator


async def test_a_token_in_the_first_frame_authenticates_and_events_arrive():
    user = await database_sync_to_async(make_user)(username="maple")
    issued = await database_sync_to_async(token_issue)(login="maple", password=PASSWORD, client_ip="x")
    ws = await connect()
    await ws.send_json_to({"type": "auth", "token": issued.secret})
    assert await ws.receive_json_from() == {"type": "auth.ok", "username": "maple"}
    await get_channel_layer().group_send(
        user_group(user.public_id), {"type": "event.forward", "event": {"type": "notification", "text": "hi"}}
    )
    assert await ws.receive_json_from() == {"type": "notification", "text": "hi"}
    await ws.send_json_to({"type": "ping"})
    assert await ws.receive_json_from() == {"type": "pong"}
    await ws.disconnect()


@pytest.mark.parametrize("frame", [{"type": "auth", "token": "same_forged"}, {"type": "ping"}, {"type": "auth"}])
async def test_anything_but_a_valid_token_first_closes_with_4401(frame):
    ws = await connect()
    await ws.send_to(text_data=json.dumps(frame))
    output = await ws.receive_output()
    assert output == {"type": "websocket.close", "code": 4401}


async def test_the_session_cookie_authenticates_the_web_ui():
    user = await database_sync_to_async(make_user)(username="maple")

    def make_session() -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "accounts.backends.EmailOrUsernameBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        return str(session.session_key)

    key = await database_sync_to_async(make_session)()
    ws = await connect([*HOST, (b"cookie", f"sessionid={key}".encode())])
    assert await ws.receive_json_from() == {"type": "auth.ok", "username": "maple"}
    await ws.disconnect()


async def test_foreign_origins_are_refused():
    communicator = WebsocketCommunicator(application, "/ws/", headers=[(b"origin", b"http://evil.example")])
    connected, _ = await communicator.connect()
    assert not connected
