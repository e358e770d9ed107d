"""The WebSocket at /ws/: one socket per signed-in client, carrying every live event for that person.

The web UI is known by its session cookie. A native app sends {"type": "auth", "token": ...} as its
first frame (tokens never travel in URLs) and is answered {"type": "auth.ok"}, or the socket is
closed with code 4401. When that token or session ends (accounts/signouts.py), the socket is closed with
4401 too, on whichever process holds it (`end_sockets`); a session's socket also closes itself, with 4401, when
its session expires (`LiveConsumer._check_session`). Features send events to `user_group(user)` with
type "event.forward" and either `event` (a dict, encoded here) or `text` (the event already encoded as JSON,
sent as is).
"""

import asyncio
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.conf import settings
from django.db import DatabaseError, connection
from django.urls import path
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import session_expires_at
from accounts.services import bearer_digest, token_authenticate
from core.errors import ServiceError
from core.layer_watch import LAYER_ERRORS, RESYNC, LayerWatch, note_undelivered

CLOSE_UNAUTHORIZED = 4401
CLOSE_TRY_AGAIN = 1013  # the channel layer (Redis) is away: reconnect in a moment
OUTBOX_LIMIT = 100  # events waiting for one slow socket (the in-memory layer's own capacity); more are dropped
SESSION_RECHECK = timedelta(minutes=1)  # a session's expiry that could not be read (the database away) is read then

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credential:
    """What signed a socket in, for frames that check it again before they act (a `send`): the bearer token's
    digest (`accounts_accesstoken.digest`) or the session's key. Never shown to anyone."""

    token_digest: str | None = None
    session_key: str | None = None

    @property
    def key(self) -> str:
        """What names this credential where it travels (the channel layer, to every process): a digest, never the
        session's key itself, which would sign anyone who read it in."""
        kind, value = ("token", self.token_digest) if self.token_digest is not None else ("session", self.session_key)
        return hashlib.sha256(f"same.socket.{kind}:{value}".encode()).hexdigest()


@dataclass(frozen=True)
class Ending:
    """Credentials of one person that ended: their sockets signed in with one of `keys` (`Credential.key`), and
    with `sessions` (`tokens`) every socket of theirs signed in with a session (a token), are closed with 4401."""

    person: str  # public id
    keys: tuple[str, ...] = ()
    sessions: bool = False
    tokens: bool = False

    def covers(self, credential: Credential) -> bool:
        if credential.token_digest is not None:
            return self.tokens or credential.key in self.keys
        return self.sessions or credential.key in self.keys


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
    """After the commit: send one encoded event to these people's sockets (`send_to_people`) without waiting for it
    to go out. From a request's thread it is handed to the event loop and the request answers while the loop
    delivers; on the loop (a socket's text) it goes out at once, before the sender's answer is written: this
    process's sockets have it queued and the PUBLISH for the others is written before this returns. Either way
    events reach the loop in the order of the calls (`_hand_over`).

    A process that serves no socket (the task worker, a command) has no such loop: there it waits for the event
    to be published."""
    if not public_ids or get_channel_layer() is None:
        return
    loop = _serving_loop
    if loop is None or loop.is_closed() or not loop.is_running():
        async_to_sync(send_to_people)(public_ids, text)
        return
    if isinstance(get_channel_layer(), InMemoryChannelLayer):
        _hand_over(loop, _push_local, public_ids, text)
    else:
        _hand_over(loop, _start, send_to_people, public_ids, text)


class _HandOvers:
    """Hand-overs from other threads (requests) to one loop, counted as they are queued and as the loop takes them:
    while one waits, what the loop itself hands over queues behind it, so every event and ending keeps the order
    of the calls."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.handed = 0  # under _handing
        self.taken = 0  # on the loop

    def take(self, callback: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.taken += 1
        callback(*args)


_hand_overs: _HandOvers | None = None
_handing = threading.Lock()


def _hand_over(loop: asyncio.AbstractEventLoop, callback: Callable[..., None], *args: Any) -> None:
    """Run `callback(*args)` on `loop`, in the order of the calls whatever their thread: at once when called on the
    loop's own thread with nothing from another thread waiting, else queued on the loop."""
    global _hand_overs
    counts = _hand_overs
    if counts is None or counts.loop is not loop:
        with _handing:
            if _hand_overs is None or _hand_overs.loop is not loop:
                _hand_overs = _HandOvers(loop)
            counts = _hand_overs
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        on_loop = False
    if on_loop:
        if counts.taken == counts.handed:
            callback(*args)
        else:
            loop.call_soon(callback, *args)
        return
    with _handing:
        counts.handed += 1
    loop.call_soon_threadsafe(counts.take, callback, args)


_in_flight: set["asyncio.Task[None]"] = set()  # publishes under way: a task nobody holds may be collected


def _start(send: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
    """On the loop: start `send(*args)` now, as an eager task, so that what it writes first (the local sockets'
    queue, the PUBLISH) is written before the caller goes on; its answer from Redis is not waited for."""
    task = asyncio.eager_task_factory(asyncio.get_running_loop(), send(*args))
    if not task.done():
        _in_flight.add(task)
        task.add_done_callback(_in_flight.discard)
    task.add_done_callback(_log_failure)


def _log_failure(future: "Future[None] | asyncio.Future[None]") -> None:
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


def end_sockets(ending: Ending) -> None:
    """After the commit: close every socket the ended credentials signed in, on every process, with 4401; from then
    on they hear nothing. Handed to the event loop in order with `publish`'s events (`_hand_over`), and this
    process's sockets ended before any goes out through Redis: in this process an event published after this never
    reaches those sockets, whichever the layer. On other processes the ending and a later event are two messages
    through Redis, which may cross: such an event can reach a socket there just before it closes."""
    layer = get_channel_layer()
    if layer is None:
        return
    loop = _serving_loop
    running = loop is not None and not loop.is_closed() and loop.is_running()
    if isinstance(layer, InMemoryChannelLayer):
        if running:  # no loop: this process serves no socket
            assert loop is not None
            _hand_over(loop, _end_local, ending)
        return
    if running:
        assert loop is not None
        _hand_over(loop, _start, _announce_ending, ending)
    else:
        async_to_sync(_announce_ending)(ending)


async def _announce_ending(ending: Ending) -> None:
    """Closes this process's sockets of the ending at once, in order with the events `send_to_people` hands them,
    then one message to every other process's hub, which closes the sockets it holds (`_end_local`)."""
    _end_local(ending)
    try:
        await get_channel_layer().group_send(
            PEOPLE_GROUP, {"type": "credentials.ended", **asdict(ending), "from": process_origin()}
        )
    except LAYER_ERRORS as error:
        # Those sockets keep hearing their person's events until they reconnect or send (which reads the
        # credential again); said loudly, as a lost sign-out is not a lost notification.
        logger.error("sockets of an ended credential were not closed (%s): the channel layer is away", error)


# The endings this process heard lately, each with when: a socket signing in while its credential ended (read
# valid, registered after the ending arrived) is closed as it registers.
_endings: deque[tuple[float, Ending]] = deque(maxlen=10_000)
ENDINGS_KEPT = 30.0  # seconds: far longer than a socket takes to sign in


def _end_local(ending: Ending) -> None:
    now = time.monotonic()
    while _endings and _endings[0][0] < now - ENDINGS_KEPT:
        _endings.popleft()
    _endings.append((now, ending))
    for consumer in tuple(_sockets.get(ending.person, ())):
        if ending.covers(consumer.credential):
            consumer.end()


def _ended_meanwhile(public_id: str, credential: Credential, since: float) -> bool:
    """Whether this credential ended while its socket signed in (after `since`), or ended at all lately: a token or
    a session that ended never comes back, so a socket signed in with one was read just before it ended."""
    key = credential.key
    for at, ending in _endings:
        if ending.person == public_id and (key in ending.keys or (at >= since and ending.covers(credential))):
            return True
    return False


def _ending_from(message: dict[str, Any]) -> Ending | None:
    person, keys = message.get("person"), message.get("keys")
    if not isinstance(person, str) or not isinstance(keys, list | tuple):
        return None
    return Ending(
        person=person,
        keys=tuple(str(key) for key in keys),
        sessions=message.get("sessions") is True,
        tokens=message.get("tokens") is True,
    )


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


def _forget(public_id: str, consumer: "LiveConsumer") -> None:
    mine = _sockets.get(public_id)
    if mine is not None:
        mine.discard(consumer)
        if not mine:
            del _sockets[public_id]


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
        elif message.get("type") == "credentials.ended" and (ending := _ending_from(message)) is not None:
            _end_local(ending)


class LiveConsumer(AsyncJsonWebsocketConsumer):
    user: User | None = None
    credential = Credential()
    _since = 0.0  # when it began to sign in (time.monotonic)
    ended = False  # its credential ended: it hears nothing more, and closes once what it is writing is written
    _outbox: "asyncio.Queue[str | None] | None" = None  # None in it: its credential ended; close with 4401
    _writer: "asyncio.Task[None] | None" = None
    _expiry: asyncio.TimerHandle | None = None  # a session's socket: when it next reads its session's expiry
    _expiry_check: "asyncio.Task[None] | None" = None

    async def connect(self) -> None:
        self._since = time.monotonic()
        await self.accept()
        user = self.scope.get("user")
        if user is not None and user.is_authenticated:
            session = self.scope.get("session")
            self.credential = Credential(session_key=getattr(session, "session_key", None))
            await self._ready(user)
            if self.user is not None and not self.ended and self.credential.session_key is not None:
                await self._check_session()

    async def _check_session(self) -> None:
        """A session's socket ends itself (4401) once its session expires, which no one announces: it reads the
        expiry as it signs in, and again at that moment — the session may have been extended meanwhile (saved at a
        later request, `set_expiry`): then it waits for the new expiry. One query by key each time, none between."""
        session_key = self.credential.session_key
        assert session_key is not None

        def read() -> datetime | None:
            try:
                return session_expires_at(session_key=session_key)
            finally:
                connection.close()  # back to the pool: the thread is not this socket's

        try:
            # In a thread of its own rather than the one consumers share, as a socket's `send` reads.
            expires = await database_sync_to_async(read, thread_sensitive=False)()
        except DatabaseError as error:
            logger.warning("a session's expiry could not be read (%s): read again in a minute", error)
            expires = timezone.now() + SESSION_RECHECK
        if self.ended or self._outbox is None:  # ended or disconnected meanwhile
            return
        if expires is None:
            self.end()
            return
        delay = max((expires - timezone.now()).total_seconds(), 0.0)
        self._expiry = self._loop.call_later(delay, self._session_due)

    def _session_due(self) -> None:
        self._expiry = None
        self._expiry_check = asyncio.create_task(self._check_session())

    def _stop_session_checks(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._expiry_check is not None and self._expiry_check is not asyncio.current_task():
            self._expiry_check.cancel()
        self._expiry_check = None

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
        if _ended_meanwhile(user.public_id, self.credential, self._since):
            self.end()

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
        if self._outbox is None or self.ended:
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
                if text is None:
                    await self.close(code=CLOSE_UNAUTHORIZED)
                    return
                await self.send(text_data=text)
            except OSError:  # the client went away; disconnect() follows
                return

    def end(self) -> None:
        """Its credential ended (a token revoked, a session signed out or expired, the account closed): from now on
        no event reaches it, the events still waiting are dropped, and it is closed with 4401 once the event being
        written, if any, is written. On the event loop's thread."""
        if self.ended or self.user is None:
            return
        self.ended = True
        _forget(self.user.public_id, self)
        self._stop_session_checks()
        outbox = self._outbox
        if outbox is None:
            return
        while not outbox.empty():
            outbox.get_nowait()
        outbox.put_nowait(None)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.ended:  # closing: what it says now is not acted on
            return
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
                self._since = time.monotonic()
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
            self.end()
            return
        except ServiceError as error:
            if self.ended:  # its credential ended while the frame was read: the answer is not its any more
                return
            # A recoverable mistake: say so, and keep the socket open. The frame's client_id, if it had one, says
            # which of the client's frames it answers.
            answer: dict[str, Any] = {"type": "error", "code": error.code, "message": error.message, "frame": kind}
            if error.fields:
                answer["fields"] = error.fields
            if isinstance(content.get("client_id"), str):
                answer["client_id"] = content["client_id"]
            await self.send_json(answer)
            return
        if self.ended:
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
            _forget(self.user.public_id, self)
            self._stop_session_checks()
            if self._writer is not None:
                self._writer.cancel()
            self._outbox = None
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except LAYER_ERRORS as error:  # Redis is away; its subscription is dropped with the connection
                logger.info("group_discard failed: %s", error)

    async def event_forward(self, event: dict[str, Any]) -> None:
        """An event for this person: `text`, JSON encoded once by the sender for every socket, or `event`, a dict."""
        if self.ended:
            return
        text = event.get("text")
        if isinstance(text, str):
            await self.send(text_data=text)
        else:
            await self.send_json(event["event"])


websocket_urlpatterns = [path("ws/", LiveConsumer.as_asgi())]
