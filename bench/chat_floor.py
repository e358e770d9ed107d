"""The bare Channels floor for bench/chat_delivery.py: the same wire protocol as the app, nothing else.

    FLOOR_MEMBERS=members.json [REDIS_URL=… CACHE_PREFIX=…] python -m uvicorn bench.chat_floor:application

No database, no Django views, no permission checks, no persistence. A socket says
{"type": "auth", "token": …} and is looked up in FLOOR_MEMBERS (a JSON object: token → [username,
[conversation ids]], written by chat_delivery.py), joins one channel-layer group per conversation and is
answered "auth.ok". `POST /api/v1/conversations/{id}/messages` with a bearer token and {"text", "client_id"}
builds a `message.new` event like the app's, sends it with one `group_send` to that conversation's group,
and answers 201; a socket's {"type": "send", "conversation_id", "text", "client_id"} frame does the same and is
answered {"type": "sent", "created": true, "message"} (the app's `send` frame, chat/realtime.py). Each socket is a Channels `AsyncWebsocketConsumer` that writes what its group sends.
The layer is the app's: InMemoryChannelLayer, or RedisPubSubChannelLayer when REDIS_URL is set.

With FLOOR_STORE_DSN (a PostgreSQL URL) it is the *stored* floor: before its `group_send` each text is written
to PostgreSQL, one durable INSERT in one round trip (autocommit, planned once, on one connection per process,
the table `bench_floor_message` made if missing). No rules, no numbering: the least a server that stores a text
before anyone sees it must wait for, to set the app's cost beside.
"""

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    redis_url = os.environ.get("REDIS_URL")
    settings.configure(
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [redis_url], "prefix": os.environ.get("CACHE_PREFIX", "floor")},
            }
        }
        if redis_url
        else {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import path

MEMBERS: dict[str, list[Any]] = (
    json.loads(Path(os.environ["FLOOR_MEMBERS"]).read_text()) if "FLOOR_MEMBERS" in os.environ else {}
)


STORE_DSN = os.environ.get("FLOOR_STORE_DSN", "")
_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_floor_message (id bigserial PRIMARY KEY, conversation text NOT NULL,"
    " sender text NOT NULL, client_id text NOT NULL, text text NOT NULL, created_at timestamptz NOT NULL)"
)
_INSERT = (
    "INSERT INTO bench_floor_message (conversation, sender, client_id, text, created_at)"
    " VALUES (%s, %s, %s, %s, %s) RETURNING id"
)
_store: dict[str, Any] = {}  # "connection": this process's one connection; "lock": who may use it now


async def store(conversation_id: str, sender: str, data: dict[str, Any], created_at: datetime) -> None:
    """The stored floor's one durable INSERT (FLOOR_STORE_DSN), in one round trip; one at a time per process."""
    import psycopg

    lock = _store.setdefault("lock", asyncio.Lock())
    async with lock:
        if "connection" not in _store:
            conn = await psycopg.AsyncConnection.connect(STORE_DSN, autocommit=True, prepare_threshold=0)
            await conn.execute(_TABLE)
            _store["connection"] = conn
        cursor = await _store["connection"].execute(
            _INSERT, [conversation_id, sender, str(data["client_id"]), str(data["text"]), created_at]
        )
        await cursor.fetchone()


def conversation_group(conversation_id: str) -> str:
    return f"c.{conversation_id}"


async def publish(member: list[Any], conversation_id: str, data: dict[str, Any]) -> dict[str, Any]:
    """A `message.new` event like the app's, sent with one `group_send` to the conversation's group (stored first,
    for the stored floor); the message."""
    created_at = datetime.now(UTC)
    if STORE_DSN:
        await store(conversation_id, member[0], data, created_at)
    event: dict[str, Any] = {
        "type": "message.new",
        "conversation_id": conversation_id,
        "seq": 0,
        "message": {"sender": {"username": member[0]}, "kind": "text", "text": data["text"]}
        | {"created_at": created_at.isoformat(), "client_id": data["client_id"]},
    }
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(conversation_group(conversation_id), {"type": "floor.forward", "text": json.dumps(event)})
    return event["message"]  # type: ignore[no-any-return]


class FloorConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str] = []
    member: list[Any] = []

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        frame = json.loads(text_data or "{}")
        if self.groups_joined:
            conversation_id = str(frame.get("conversation_id"))
            if frame.get("type") == "send" and conversation_id in self.member[1]:
                message = await publish(self.member, conversation_id, frame)
                await self.send(text_data=json.dumps({"type": "sent", "created": True, "message": message}))
            elif frame.get("type") == "send":
                await self.send(text_data=json.dumps({"type": "error", "code": "not_found", "frame": "send"}))
            return
        member = MEMBERS.get(str(frame.get("token")))
        if member is None:
            await self.close(code=4401)
            return
        self.member = member
        username, conversations = member
        self.groups_joined = [conversation_group(c) for c in conversations]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.send(text_data=json.dumps({"type": "auth.ok", "username": username}))

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def floor_forward(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["text"])


async def post_message(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    parts = scope["path"].strip("/").split("/")  # api v1 conversations {id} messages
    headers = dict(scope["headers"])
    token = headers.get(b"authorization", b"").decode().removeprefix("Bearer ")
    member = MEMBERS.get(token)
    status = 404
    answer = b"{}"
    if member is not None and scope["method"] == "POST" and len(parts) == 5 and parts[3] in member[1]:
        status, answer = 201, json.dumps(await publish(member, parts[3], json.loads(body))).encode()
    elif scope["path"] == "/healthz":
        status, answer = 200, b"{}"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer})


application = ProtocolTypeRouter({"http": post_message, "websocket": URLRouter([path("ws/", FloorConsumer.as_asgi())])})
