"""Catching up: `resume` answered in batches, and what `resync` tells each person (docs/websocket.md).

When Redis comes back, every socket of a process is told to resume at once, and each asks while live events
flow again. Answered one by one, each resume was a thread hop and two queries, and the hops queued behind
one another for up to 20 s at 200 sockets (docs/reliability.md). Here the resumes that arrive while a
batch is being read wait for the next one: a batch costs one thread hop and two queries however many
sockets and conversations it serves, and each message is encoded once for every socket that asked for it.
"""

import asyncio
import json
import weakref
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from channels.db import database_sync_to_async

from .events import message_payload
from .selectors import memberships, messages_in_spans, newest_seqs_since

RESUME_LIMIT = 500  # messages in one answer; `resume.done` then says `more`, and the client asks again
BATCH_LIMIT = 1000  # resumes answered in one batch

NOT_FOUND = "not_found"  # not in the conversation (or there is none): the same answer
TOO_FAR = "invalid_after"  # `after` is beyond the newest message


@dataclass(frozen=True)
class Ask:
    user_id: int
    conversation_id: str  # public id
    after: int


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching spans (after, up to] as one: the members of a group ask for nearly the same."""
    merged: list[tuple[int, int]] = []
    for after, up_to in sorted(spans):
        if merged and after <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], up_to))
        else:
            merged.append((after, up_to))
    return merged


def answer(asks: list[Ask]) -> list[list[str] | str]:
    """For each ask, in order: its frames (every `message.new` after `after`, at most RESUME_LIMIT, then
    `resume.done`), each encoded as JSON, or an error code. Reads the database: call it in a thread.

    Membership and the newest number are read first, and no message beyond that number is sent: someone
    removed after that read gets nothing written after their removal."""
    found = memberships(user_ids={ask.user_id for ask in asks}, conversation_ids={ask.conversation_id for ask in asks})
    spans: dict[int, list[tuple[int, int]]] = {}
    for ask in asks:
        member = found.get((ask.user_id, ask.conversation_id))
        if member is not None and ask.after < member[1]:
            spans.setdefault(member[0], []).append((ask.after, min(ask.after + RESUME_LIMIT, member[1])))
    encoded: dict[tuple[int, int], str] = {}
    for message in messages_in_spans(spans={key: _merged(value) for key, value in spans.items()}):
        event = {
            "type": "message.new",
            "conversation_id": message.conversation.public_id,
            "seq": message.seq,
            "message": message_payload(message),
        }
        encoded[(message.conversation_id, message.seq)] = json.dumps(event)
    answers: list[list[str] | str] = []
    for ask in asks:
        member = found.get((ask.user_id, ask.conversation_id))
        if member is None:
            answers.append(NOT_FOUND)
            continue
        key, newest = member
        if ask.after > newest:
            answers.append(TOO_FAR)
            continue
        up_to = min(ask.after + RESUME_LIMIT, newest)
        frames = [encoded[(key, seq)] for seq in range(ask.after + 1, up_to + 1) if (key, seq) in encoded]
        done = {
            "type": "resume.done",
            "conversation_id": ask.conversation_id,
            "after": ask.after,
            "last_seq": up_to,
            "more": up_to < newest,
        }
        answers.append([*frames, json.dumps(done)])
    return answers


class _Batches:
    """One event loop's resumes: those asked while a batch is read wait for the next."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Ask, asyncio.Future[list[str] | str]]] = []
        self.reader: asyncio.Task[None] | None = None

    async def ask(self, ask: Ask) -> list[str] | str:
        future: asyncio.Future[list[str] | str] = asyncio.get_running_loop().create_future()
        self.waiting.append((ask, future))
        if self.reader is None or self.reader.done():
            self.reader = asyncio.create_task(self._read())
        return await future

    async def _read(self) -> None:
        await asyncio.sleep(0)  # frames read in this turn of the loop join the first batch
        while self.waiting:
            batch, self.waiting = self.waiting[:BATCH_LIMIT], self.waiting[BATCH_LIMIT:]
            batch = [(ask, future) for ask, future in batch if not future.done()]  # sockets gone meanwhile
            if not batch:
                continue
            try:
                # Not thread-sensitive: the sockets' own thread stays free for their other frames.
                answers = await database_sync_to_async(answer, thread_sensitive=False)([ask for ask, _ in batch])
            except Exception as error:  # noqa: BLE001  (the database is away: each asker raises it, as before)
                for _ask, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_ask, future), result in zip(batch, answers, strict=True):
                if not future.done():
                    future.set_result(result)


_batches: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Batches]" = weakref.WeakKeyDictionary()


async def resume_frames(*, user_id: int, conversation_id: str, after: int) -> list[str] | str:
    """The answer to one `resume`, read with the others asked at the same time: frames, or an error code."""
    loop = asyncio.get_running_loop()
    batches = _batches.get(loop)
    if batches is None:
        batches = _batches[loop] = _Batches()
    return await batches.ask(Ask(user_id=user_id, conversation_id=conversation_id, after=after))


def resync_fields(public_ids: list[str], since: datetime) -> dict[str, dict[str, Any]]:
    """What `resync` adds for each person: `conversations`, the newest seq of each conversation they hear
    with a message since `since` (the client resumes only those where it holds less)."""
    return {
        person: {"conversations": newest}
        for person, newest in newest_seqs_since(public_ids=public_ids, since=since).items()
    }
