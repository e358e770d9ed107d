"""The WebSocket at /ws/: one socket per signed-in client, carrying every live event for that person.

The web UI is known by its session cookie. A native app sends {"type": "auth", "token": ...} as its
first frame (tokens never travel in URLs) and is answered {"type": "auth.ok"}, or the socket is
closed with code 4401. Features send events to `user_group(user)` with type "event.forward" and either
`event` (a dict, encoded here) or `text` (the event already encoded as JSON, sent as is).
"""

import asyncio
import json
import logging
import os
import secrets
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import DatabaseError
from django.urls import path
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.services import bearer_digest, token_authenticate
from core.errors import ServiceError
from core.layer_watch import LAYER_ERRORS, RESYNC, LayerWatch, note_undelivered

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 1013  # the channel layer (Redis) is away: reconnect in a moment
OUTBOX_LIMIT = 100  # events waiting for one slow socket (the in-memory layer's own capacity); more are dropped

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credential:
    """What signed a socket in, for frames that check it again before they act (a `send`): the bearer token's
    digest (`accounts_accesstoken.digest`) or the session's key. Never shown to anyone."""

    token_digest: str | None = None
    session_key: str | None = None


class SignedOut(Exception):
    """Raised by a frame handler: the socket's token was revoked or its session ended since it signed in.
    The socket is closed with 4401, as a socket that never signed in is."""


# A frame's answer: events for this socket, each a dict or already encoded as JSON.
FrameHandler = Callable[[User, dict[str, Any], Credential], Awaitable[Sequence[dict[str, Any] | str]]]
_frame_handlers: dict[str, FrameHandler] = {}
# What a feature adds to `resync` for each person (public ids), given when the break began.
ResyncFields = Callable[[list[str], datetime], dict[str, dict[str, Any]]]
_resync_fields: list[ResyncFields] = []


def register_frame(kind: str) -> Callable[[FrameHandler], FrameHandler]:
    """Features answer their own client frames ("resume", "typing", …) with a list of events for this socket."""

    def register(handler: FrameHandler) -> FrameHandler:
        _frame_handlers[kind] = handler
        return handler

    return register


def register_resync(fields: ResyncFields) -> ResyncFields:
    """Features say what each person's `resync` carries (chat: the newest seq of each conversation with news)."""
    _resync_fields.append(fields)
    return fields


async def resync_events(public_ids: list[str], since: datetime) -> dict[str, str]:
    """Each person's `resync` event, encoded: what the features add for events since `since`, read in one go.
    With the database away too, the bare event, which asks the client to resume everything it has open."""

    def read() -> dict[str, dict[str, Any]]:
        fields: dict[str, dict[str, Any]] = {public_id: {} for public_id in public_ids}
        for feature in _resync_fields:
            for public_id, extra in feature(public_ids, since).items():
                fields[public_id].update(extra)
        return fields

    try:
        fields = await database_sync_to_async(read, thread_sensitive=False)()
    except DatabaseError as error:
        logger.warning("resync without details (%s): clients resume everything", error)
        return dict.fromkeys(public_ids, RESYNC)
    return {public_id: json.dumps({"type": "resync", **fields[public_id]}) for public_id in public_ids}


def user_group(public_id: str) -> str:
    return f"user.{public_id}"


_sockets: dict[str, set["LiveConsumer"]] = {}  # this process's signed-in sockets, by person's public id


PEOPLE_GROUP = "people"  # every process's hub listens here: one PUBLISH carries an event to all its recipients
_origin: tuple[int, str] | None = None


def process_origin() -> str:
    """This process's name on PEOPLE_GROUP's messages, so its hub knows its own: random, made again after a fork
    (a worker forked from a server that imported the app must not take its parent's)."""
    global _origin
    if _origin is None or _origin[0] != os.getpid():
        _origin = (os.getpid(), secrets.token_hex(8))
    return _origin[1]


_serving_loop: asyncio.AbstractEventLoop | None = None  # the event loop of this process's sockets, once it has one


def publish(public_ids: list[str], text: str) -> None:
    """From a request's thread, after its commit: send one encoded event to these people's sockets (`send_to_people`)
    without waiting for it to go out: the request answers while the event loop delivers. Events are handed to the
    loop in the order of the calls.

    A process that serves no socket (the task worker, a command) has no such loop: there it waits for the event
    to be published."""
    if not public_ids or get_channel_layer() is None:
        return
    loop = _serving_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        async_to_sync(send_to_people)(public_ids, text)
        return
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        loop.call_soon_threadsafe(_push_local, public_ids, text)
    else:
        asyncio.run_coroutine_threadsafe(send_to_people(public_ids, text), loop).add_done_callback(_log_failure)


def _log_failure(future: "Future[None]") -> None:
    if not future.cancelled() and (error := future.exception()) is not None:
        logger.error("an event was not published", exc_info=error)


async def send_to_people(public_ids: list[str], text: str) -> None:
    """Send one event, already encoded as JSON, to every socket of these people; return once it is handed
    over (to the sockets' outboxes, or to Redis). At most once, like every channel-layer message.

    The recipients are read by the caller, from the database, just before: whoever is not in `public_ids`
    hears nothing, wherever their sockets are."""
    layer = get_channel_layer()
    if layer is None or not public_ids:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # This layer serves a single process, which therefore holds every socket: hand the text to them
        # directly. Through the layer, each group_send and each receive scans every channel and group it
        # holds (channels 4.3, `_clean_expired`), so one delivery cost time in proportion to the sockets
        # connected: ~1.5 ms each at 1,000 sockets here.
        _push_local(public_ids, text)
        return
    # This process's own sockets get it at once; every other process's hub receives one message for all the
    # recipients, however many, and hands the text to the sockets it holds (one PUBLISH per person capped a
    # 200-member group at ~1,450 deliveries/s through Redis). Our own hub skips it by its origin: a 1:1 message
    # between two sockets of one process skips Redis's round trip (a message from one process reached the
    # others in Redis's order before, and still does; this process's sockets never waited on that order).
    _push_local(public_ids, text)
    try:
        await layer.group_send(
            PEOPLE_GROUP, {"type": "people.forward", "text": text, "to": public_ids, "from": process_origin()}
        )
    except LAYER_ERRORS as error:
        # The message is stored and its sender told so; these people hear `resync` once the layer is back.
        logger.warning("event not published (%s): %s people will be told to resume", error, len(public_ids))
        note_undelivered(public_ids)


async def _tell_people(public_ids: list[str], text: str) -> None:
    """One event to these people's sockets on every process, through the hubs; raises while the layer is away."""
    await get_channel_layer().group_send(PEOPLE_GROUP, {"type": "people.forward", "text": text, "to": public_ids})


async def resync_local_sockets(since: datetime) -> set[str]:
    """Tell every socket of this process to `resume` (events for them since `since` may have been lost);
    return whose."""
    events = await resync_events(list(_sockets), since)
    for public_id, event in events.items():
        for consumer in tuple(_sockets.get(public_id, ())):
            consumer.push(event)
    return set(events)


def _push_local(public_ids: list[str], text: str) -> None:
    for public_id in public_ids:
        for consumer in tuple(_sockets.get(public_id, ())):
            consumer.push(text)


class _Hub:
    """This process's one listener on PEOPLE_GROUP, started with its first signed-in socket."""

    def __init__(self, loop: asyncio.AbstractEventLoop, task: "asyncio.Task[None]") -> None:
        self.loop = loop
        self.task = task


_hub: _Hub | None = None
_hub_lock: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None


async def _ensure_hub() -> None:
    """Listen on PEOPLE_GROUP before the first socket is told it is ready, so it misses nothing after."""
    global _hub, _hub_lock
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return
    loop = asyncio.get_running_loop()
    if _hub is not None and _hub.loop is loop and not _hub.task.done():
        return
    if _hub_lock is None or _hub_lock[0] is not loop:
        _hub_lock = (loop, asyncio.Lock())
    async with _hub_lock[1]:
        if _hub is not None and _hub.loop is loop and not _hub.task.done():
            return
        channel = await layer.new_channel()
        await layer.group_add(PEOPLE_GROUP, channel)
        _hub = _Hub(loop, asyncio.create_task(_listen(layer, channel)))


async def _listen(layer: Any, channel: str) -> None:
    while True:
        try:
            message = await layer.receive(channel)
        except Exception:  # Redis went away a moment: the layer reconnects; keep listening
            logger.exception("the event hub could not read from the channel layer")
            await asyncio.sleep(0.5)
            continue
        to, text = message.get("to"), message.get("text")
        if message.get("from") == process_origin():
            continue  # sent from here: `send_to_people` handed it to this process's sockets already
        if message.get("type") == "people.forward" and isinstance(to, list) and isinstance(text, str):
            _push_local(to, text)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    user: User | None = None
    credential = Credential()
    _outbox: "asyncio.Queue[str] | None" = None
    _writer: "asyncio.Task[None] | None" = None

    async def connect(self) -> None:
        await self.accept()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            session = self.scope.get("session")
            self.credential = Credential(session_key=getattr(session, "session_key", None))
            await self._ready(user)

    async def _ready(self, user: User) -> None:
        self.group = user_group(user.public_id)
        if not isinstance(self.channel_layer, InMemoryChannelLayer):
            LayerWatch.ensure(
                self.channel_layer, resync_local=resync_local_sockets, resync_events=resync_events, tell=_tell_people
            )
        try:
            await self.channel_layer.group_add(self.group, self.channel_name)
            await _ensure_hub()
        except LAYER_ERRORS as error:
            logger.warning("socket refused while the channel layer is away: %s", error)
            await self.close(code=CLOSE_TRY_AGAIN)
            return
        self.user = user
        # From here on events for this person queue up behind "auth.ok", the first thing the socket says.
        global _serving_loop
        self._loop = _serving_loop = asyncio.get_running_loop()
        self._outbox = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        self._outbox.put_nowait(json.dumps({"type": "auth.ok", "username": user.username}))
        _sockets.setdefault(user.public_id, set()).add(self)
        self._writer = asyncio.create_task(self._write_outbox())

    def push(self, text: str) -> None:
        """Queue an encoded event for this socket, in order, without waiting for it to be written."""
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._enqueue(text)
        else:
            self._loop.call_soon_threadsafe(self._enqueue, text)

    def _enqueue(self, text: str) -> None:
        if self._outbox is None:
            return
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            logger.warning("dropped an event for a socket that is %s events behind", OUTBOX_LIMIT)

    async def _write_outbox(self) -> None:
        assert self._outbox is not None
        while True:
            text = await self._outbox.get()
            try:
                await self.send(text_data=text)
            except OSError:  # the client went away; disconnect() follows
                return

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        # What the socket says back (errors) is in the person's language, as pages and the API are.
        language = self.user.language if self.user is not None else None
        with translation.override(language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE):
            await self._receive(content)

    async def _receive(self, content: Any) -> None:
        if not isinstance(content, dict):
            await self.send_json({"type": "error", "code": "bad_frame", "message": _("Frames are JSON objects.")})
            return
        kind = content.get("type")
        if self.user is None:
            token = content.get("token")
            if kind == "auth" and isinstance(token, str):
                user = await database_sync_to_async(token_authenticate)(secret=token)
                if user is not None:
                    self.credential = Credential(token_digest=bearer_digest(token))
                    await self._ready(user)
                    return
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        if kind == "ping":
            await self.send_json({"type": "pong"})
            return
        handler = _frame_handlers.get(str(kind))
        if handler is None:
            await self.send_json(
                {"type": "error", "code": "unknown_type", "message": _("Unknown frame type %(type)r.") % {"type": kind}}
            )
            return
        try:
            events = await handler(self.user, content, self.credential)
        except SignedOut:
            await self.close(code=CLOSE_UNAUTHORIZED)
            return
        except ServiceError as error:
            # A recoverable mistake: say so, and keep the socket open. The frame's client_id, if it had one, says
            # which of the client's frames it answers.
            answer: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message, "frame": kind}
            if error.fields:
                answer["fields"] = error.fields
            if isinstance(content.get("client_id"), str):
                answer["client_id"] = content["client_id"]
            await self.send_json(answer)
            return
        try:
            for event in events:
                if isinstance(event, str):
                    await self.send(text_data=event)
                else:
                    await self.send_json(event)
        except (OSError, RuntimeError):
            # The connection closed under the answer (the client left, or missed the keepalive ping and the
            # server closed it: then the server refuses sends with a RuntimeError); disconnect() follows.
            return

    async def disconnect(self, code: int) -> None:
        if self.user is not None:
            mine = _sockets.get(self.user.public_id)
            if mine is not None:
                mine.discard(self)
                if not mine:
                    del _sockets[self.user.public_id]
            if self._writer is not None:
                self._writer.cancel()
            self._outbox = None
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except LAYER_ERRORS as error:  # Redis is away; its subscription is dropped with the connection
                logger.info("group_discard failed: %s", error)

    async def event_forward(self, event: dict[str, Any]) -> None:
        """An event for this person: `text`, JSON encoded once by the sender for every socket, or `event`, a dict."""
        text = event.get("text")
        if isinstance(text, str):
            await self.send(text_data=text)
        else:
            await self.send_json(event["event"])


websocket_urlpatterns = [path("ws/", LiveConsumer.as_asgi())]
