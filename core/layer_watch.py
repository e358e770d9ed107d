"""The channel layer's watch: notices when events may have been lost, and tells the sockets to `resume`.

Redis pub/sub delivers at most once. While Redis is down, or in the second after it comes back before
this process has subscribed again (redis-py re-subscribes by itself on its next read), every event
published for this process's sockets is gone. The database still holds every message, and `resume`
fetches them; the sockets only have to be told. So each process sends itself a beat through Redis
every BEAT_EVERY seconds. A beat that cannot be published, or that does not come back within
BEAT_TIMEOUT, means events may be lost; the first beat that comes back afterwards proves the
subscription works again, and then every socket of this process gets {"type": "resync", ...}, with what
the features add (chat: the newest seq of each of the person's conversations with news since shortly
before the break); the client sends `resume` where it is behind (docs/websocket.md).

An event this process could not publish was meant for sockets on any process, some of whose
subscriptions may be fine: those people get a `resync` through the layer once it works again.
"""

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BEAT_EVERY = 0.25
BEAT_TIMEOUT = 2.0
# Events lost in a break were for messages written a little before it at most (written, committed, then
# published): `resync` reports the conversations with news since this long before the last beat heard.
RESYNC_MARGIN = 120.0
RESYNC = json.dumps({"type": "resync"})  # without details: resume everything

LAYER_ERRORS = (RedisError, OSError)  # what a channel layer on Redis raises while Redis is away
_undelivered: set[str] = set()  # people (public ids) whose events this process failed to publish
_watches: dict[asyncio.AbstractEventLoop, "LayerWatch"] = {}


def note_undelivered(public_ids: list[str]) -> None:
    _undelivered.update(public_ids)


ResyncLocal = Callable[[datetime], Awaitable[set[str]]]
ResyncEvents = Callable[[list[str], datetime], Awaitable[dict[str, str]]]
Tell = Callable[[list[str], str], Awaitable[None]]  # one event to these people's sockets, on every process


class LayerWatch:
    def __init__(self, layer: Any, *, resync_local: ResyncLocal, resync_events: ResyncEvents, tell: Tell) -> None:
        self.layer = layer
        self.resync_local = resync_local
        self.resync_events = resync_events
        self.tell = tell
        self.lost = False
        self.heard_at = time.time()  # when the last beat came back
        self.lost_since = self.heard_at  # the last beat heard before the break
        self.resyncs = 0
        self._beats: asyncio.Queue[int] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def ensure(cls, layer: Any, *, resync_local: ResyncLocal, resync_events: ResyncEvents, tell: Tell) -> "LayerWatch":
        """The running loop's watch, started on first use (by the first socket that signs in)."""
        loop = asyncio.get_running_loop()
        watch = _watches.get(loop)
        if watch is None or watch.layer is not layer or (watch._task is not None and watch._task.done()):
            watch = cls(layer, resync_local=resync_local, resync_events=resync_events, tell=tell)
            _watches[loop] = watch
            watch._task = loop.create_task(watch._run())
        return watch

    async def _listen(self, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            self._beats.put_nowait(int(message.get("n", 0)))

    async def _beat(self, channel: str, number: int) -> bool:
        """Publish beat `number` and wait for it to come back: True when it did, in time. While the layer is
        lost, any beat heard will do (one sent before the subscription was back never comes): the sooner the
        break is over, the sooner the sockets are told."""
        try:
            await self.layer.send(channel, {"type": "watch.beat", "n": number})
        except LAYER_ERRORS as error:
            logger.debug("layer beat not published: %s", error)
            return False
        try:
            async with asyncio.timeout(BEAT_EVERY * 2 if self.lost else BEAT_TIMEOUT):
                while (await self._beats.get()) != number and not self.lost:
                    pass  # an older beat, arriving late
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        while True:  # the channel itself needs Redis: wait for it
            try:
                channel = await self.layer.new_channel(prefix="watch.")
                break
            except LAYER_ERRORS as error:
                logger.warning("channel layer unavailable (%s); retrying", error)
                await asyncio.sleep(1)
        listener = asyncio.create_task(self._listen(channel))
        number = 0
        try:
            while True:
                number += 1
                if await self._beat(channel, number):
                    if self.lost:
                        await self._recovered()
                    self.heard_at = time.time()
                elif not self.lost:
                    self.lost = True
                    self.lost_since = self.heard_at
                    while not self._beats.empty():  # from before the break: no proof it is over
                        self._beats.get_nowait()
                    logger.warning("channel layer lost: events may be missed until it is back")
                await asyncio.sleep(BEAT_EVERY)
        finally:
            listener.cancel()

    async def _recovered(self) -> None:
        self.lost = False
        self.resyncs += 1
        since = datetime.fromtimestamp(self.lost_since - RESYNC_MARGIN, tz=UTC)
        here = await self.resync_local(since)
        # Those with a socket here were just told, but may have sockets on other processes too: tell them all
        # (each resync says how far each conversation went: a client already there asks nothing).
        people = list(_undelivered)
        _undelivered.clear()
        alike: dict[str, list[str]] = {}  # one message for everyone whose resync reads the same
        for public_id, event in (await self.resync_events(people, since) if people else {}).items():
            alike.setdefault(event, []).append(public_id)
        for event, public_ids in alike.items():
            try:
                await self.tell(public_ids, event)
            except LAYER_ERRORS:
                _undelivered.update(public_ids)  # lost again: the next recovery tries once more
                self.lost = True
        logger.warning("channel layer back: %s people here and %s elsewhere told to resume", len(here), len(people))
