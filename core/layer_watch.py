"""The channel layer's watch: notices when events may have been lost, and tells the sockets to `resume`.

Redis pub/sub delivers at most once. While Redis is down, or in the second after it comes back before
this process has subscribed again (redis-py re-subscribes by itself on its next read), every event
published for this process's sockets is gone. The database still holds every message, and `resume`
fetches them; the sockets only have to be told. So each process sends itself a beat through Redis
every BEAT_EVERY seconds. A beat that cannot be published, or that does not come back within
BEAT_TIMEOUT, means events may be lost; the first beat that comes back afterwards proves the
subscription works again, and then every socket of this process gets {"type": "resync"} (the client
sends `resume` for its open conversations, docs/websocket.md).

An event this process could not publish was meant for sockets on any process, some of whose
subscriptions may be fine: those people get a `resync` through the layer once it works again.
"""

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

BEAT_EVERY = 0.25
BEAT_TIMEOUT = 2.0
RESYNC = json.dumps({"type": "resync"})

LAYER_ERRORS = (RedisError, OSError)  # what a channel layer on Redis raises while Redis is away
_undelivered: set[str] = set()  # people (public ids) whose events this process failed to publish
_watches: dict[asyncio.AbstractEventLoop, "LayerWatch"] = {}


def note_undelivered(public_ids: list[str]) -> None:
    _undelivered.update(public_ids)


class LayerWatch:
    def __init__(self, layer: Any, *, resync_local: Callable[[], set[str]], group_of: Callable[[str], str]) -> None:
        self.layer = layer
        self.resync_local = resync_local
        self.group_of = group_of
        self.lost = False
        self.resyncs = 0
        self._beats: asyncio.Queue[int] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def ensure(
        cls, layer: Any, *, resync_local: Callable[[], set[str]], group_of: Callable[[str], str]
    ) -> "LayerWatch":
        """The running loop's watch, started on first use (by the first socket that signs in)."""
        loop = asyncio.get_running_loop()
        watch = _watches.get(loop)
        if watch is None or watch.layer is not layer or (watch._task is not None and watch._task.done()):
            watch = cls(layer, resync_local=resync_local, group_of=group_of)
            _watches[loop] = watch
            watch._task = loop.create_task(watch._run())
        return watch

    async def _listen(self, channel: str) -> None:
        while True:
            message = await self.layer.receive(channel)
            self._beats.put_nowait(int(message.get("n", 0)))

    async def _beat(self, channel: str, number: int) -> bool:
        """Publish beat `number` and wait for it to come back: True when it did, in time."""
        try:
            await self.layer.send(channel, {"type": "watch.beat", "n": number})
        except LAYER_ERRORS as error:
            logger.debug("layer beat not published: %s", error)
            return False
        try:
            async with asyncio.timeout(BEAT_TIMEOUT):
                while (await self._beats.get()) != number:
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
                elif not self.lost:
                    self.lost = True
                    logger.warning("channel layer lost: events may be missed until it is back")
                await asyncio.sleep(BEAT_EVERY)
        finally:
            listener.cancel()

    async def _recovered(self) -> None:
        self.lost = False
        self.resyncs += 1
        here = self.resync_local()
        # Those with a socket here were just told, but may have sockets on other processes too: tell them all
        # (clients skip a resync that comes within a second of a resume).
        people = list(_undelivered)
        _undelivered.clear()
        for public_id in people:
            try:
                await self.layer.group_send(self.group_of(public_id), {"type": "event.forward", "text": RESYNC})
            except LAYER_ERRORS:
                _undelivered.add(public_id)  # lost again: the next recovery tries once more
                self.lost = True
        logger.warning("channel layer back: %s people here and %s elsewhere told to resume", len(here), len(people))
