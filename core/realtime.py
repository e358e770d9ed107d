"""The WebSocket at /ws/: one socket per signed-in client, carrying every live event for that person.

The web UI is known by its session cookie. A native app sends {"type": "auth", "token": ...} as its
first frame (tokens never travel in URLs) and is answered {"type": "auth.ok"}, or the socket is
closed with code 4401. Features send events to `user_group(user)` with type "event.forward".
"""

from collections.abc import Awaitable, Callable
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.urls import path

from accounts.models import User
from accounts.services import token_authenticate
from core.errors import ServiceError

CLOSE_UNAUTHORIZED = 4401

FrameHandler = Callable[[User, dict[str, Any]], Awaitable[list[dict[str, Any]]]]
_frame_handlers: dict[str, FrameHandler] = {}


def register_frame(kind: str) -> Callable[[FrameHandler], FrameHandler]:
    """Features answer their own client frames ("resume", "typing", …) with a list of events for this socket."""

    def register(handler: FrameHandler) -> FrameHandler:
        _frame_handlers[kind] = handler
        return handler

    return register


def user_group(public_id: str) -> str:
    return f"user.{public_id}"


class LiveConsumer(AsyncJsonWebsocketConsumer):
    user: User | None = None

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            await self._ready(user)

    async def _ready(self, user: User) -> None:
        self.user = user
        self.group = user_group(user.public_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json({"type": "auth.ok", "username": user.username})

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "code": "bad_frame", "message": "Frames are JSON objects."})
            return
        kind = content.get("type")
        if self.user is None:
            token = content.get("token")
            if kind == "auth" and isinstance(token, str):
                user = await database_sync_to_async(token_authenticate)(secret=token)
                if user is not None:
                    await self._ready(user)
                    return
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        handler = _frame_handlers.get(str(kind))
        if handler is None:
            await self.send_json({"type": "error", "code": "unknown_type", "message": f"Unknown frame type {kind!r}."})
            return
        try:
            events = await handler(self.user, content)
        except ServiceError as error:
            # A recoverable mistake: say so, and keep the socket open.
            await self.send_json({"type": "error", "code": error.code, "message": error.message, "frame": kind})
            return
        for event in events:
            await self.send_json(event)

    async def disconnect(self, code: int) -> None:
        if self.user is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def event_forward(self, event: dict[str, Any]) -> None:
        await self.send_json(event["event"])


websocket_urlpatterns = [path("ws/", LiveConsumer.as_asgi())]
