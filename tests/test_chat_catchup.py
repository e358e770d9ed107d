"""Catching up: `resume` answered in batches with `resume.done`, and `resync` saying where each conversation
stands (chat/catchup.py, core/layer_watch.py; the protocol in docs/websocket.md)."""

import asyncio
import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import DatabaseError
from django.utils import timezone

from chat import catchup, groups, services
from chat.catchup import Ask, answer, resync_fields
from core import layer_watch, realtime
from core.layer_watch import LayerWatch
from tests.factories import make_user
from tests.test_chat import _connect_as
from tests.test_chat_groups import a_group, joined


@pytest.fixture
def chatty(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (999, 60), "message_new_account": (999, 60)}


def _say(group, sender, *texts):
    for text in texts:
        services.message_send(sender=sender, conversation=group, text=text, client_id=f"{sender.username}-{text}")


def _events(frames):
    return [json.loads(frame) for frame in frames]


@pytest.mark.django_db
class TestAnswer:
    def test_every_ask_gets_its_own_slice_then_done_from_two_queries(self, chatty, django_assert_num_queries):
        """Ensure that one batch answers many people in many conversations with two queries, each ask with the
        messages after its own `after`, in order, then `resume.done`."""
        owner, night = a_group(title="Night")
        ana, ben = make_user(username="ana"), make_user(username="ben")
        joined(night, owner, ana, ben)
        _owner, day = a_group(owner, title="Day")
        joined(day, owner, ana)
        _say(night, owner, "n1", "n2", "n3")
        _say(day, ana, "d1")
        night.refresh_from_db()
        day.refresh_from_db()
        newest_night, newest_day = night.next_seq - 1, day.next_seq - 1
        asks = [
            Ask(user_id=ana.pk, conversation_id=night.public_id, after=newest_night - 2),
            Ask(user_id=ben.pk, conversation_id=night.public_id, after=0),
            Ask(user_id=ana.pk, conversation_id=day.public_id, after=newest_day),
        ]
        with django_assert_num_queries(2):
            answers = answer(asks)
        ana_night, ben_night, ana_day = (_events(frames) for frames in answers)
        assert [e["message"]["text"] for e in ana_night[:-1]] == ["n2", "n3"]
        assert [e["seq"] for e in ben_night[:-1]] == list(range(1, newest_night + 1))
        assert {e["conversation_id"] for e in ben_night} == {night.public_id}
        assert ana_night[-1] == {
            "type": "resume.done",
            "conversation_id": night.public_id,
            "after": newest_night - 2,
            "last_seq": newest_night,
            "more": False,
        }
        assert ana_day == [
            {
                "type": "resume.done",
                "conversation_id": day.public_id,
                "after": newest_day,
                "last_seq": newest_day,
                "more": False,
            }
        ]

    def test_a_long_gap_is_answered_a_limit_at_a_time(self, chatty, monkeypatch):
        """Ensure that an answer stops at RESUME_LIMIT messages and says `more`, and asking again from its last
        one gets the rest."""
        monkeypatch.setattr(catchup, "RESUME_LIMIT", 3)
        owner, group = a_group()
        _say(group, owner, "a", "b", "c", "d", "e")
        group.refresh_from_db()
        newest = group.next_seq - 1
        first = _events(answer([Ask(user_id=owner.pk, conversation_id=group.public_id, after=0)])[0])
        assert [e["seq"] for e in first[:-1]] == [1, 2, 3]
        assert (first[-1]["last_seq"], first[-1]["more"]) == (3, True)
        rest = _events(answer([Ask(user_id=owner.pk, conversation_id=group.public_id, after=newest - 1)])[0])
        assert [e["seq"] for e in rest[:-1]] == [newest]
        assert (rest[-1]["last_seq"], rest[-1]["more"]) == (newest, False)

    def test_strangers_ex_members_and_numbers_not_yet_given_are_refused_in_the_same_batch(self, chatty):
        """Ensure that a batch answers its members and refuses, each on its own, someone who left, someone who
        was never in, a conversation that doesn't exist, and an `after` beyond the newest message."""
        owner, group = a_group()
        ana, gone, stranger = make_user(username="ana"), make_user(username="gone"), make_user(username="stranger")
        joined(group, owner, ana, gone)
        groups.member_remove(by=owner, conversation=group, username="gone")
        _say(group, owner, "after the removal")
        group.refresh_from_db()
        newest = group.next_seq - 1
        answers = answer(
            [
                Ask(user_id=gone.pk, conversation_id=group.public_id, after=0),
                Ask(user_id=ana.pk, conversation_id=group.public_id, after=newest - 1),
                Ask(user_id=stranger.pk, conversation_id=group.public_id, after=0),
                Ask(user_id=ana.pk, conversation_id="no-such-conversation", after=0),
                Ask(user_id=ana.pk, conversation_id=group.public_id, after=newest + 1),
            ]
        )
        assert answers[0] == catchup.NOT_FOUND
        assert [e["message"]["text"] for e in _events(answers[1])[:-1]] == ["after the removal"]
        assert answers[2:] == [catchup.NOT_FOUND, catchup.NOT_FOUND, catchup.TOO_FAR]


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_sockets_resuming_at_once_each_get_their_own_answer(chatty):
    """Ensure that resumes sent together from several sockets (as after a `resync`) are each answered with
    their own messages and `resume.done`, and a refusal reaches only the one refused."""
    owner = await database_sync_to_async(make_user)(username="owner")
    people = [await database_sync_to_async(make_user)(username=f"p{i}") for i in range(4)]
    stranger = await database_sync_to_async(make_user)(username="stranger")
    _owner, group = await database_sync_to_async(a_group)(owner)
    await database_sync_to_async(joined)(group, owner, *people)
    await database_sync_to_async(_say)(group, owner, "one", "two")
    await database_sync_to_async(group.refresh_from_db)()
    newest = group.next_seq - 1
    sockets = [await _connect_as(person) for person in [*people, stranger]]
    for after, socket in enumerate(sockets):
        await socket.send_json_to({"type": "resume", "conversation_id": group.public_id, "after": after})
    for after, socket in enumerate(sockets[:-1]):
        frames = [await socket.receive_json_from() for _ in range(newest - after + 1)]
        assert [f["seq"] for f in frames[:-1]] == list(range(after + 1, newest + 1))
        assert (frames[-1]["type"], frames[-1]["after"], frames[-1]["last_seq"]) == ("resume.done", after, newest)
        assert await socket.receive_nothing(timeout=0.1)
    refused = await sockets[-1].receive_json_from()
    assert (refused["type"], refused["code"], refused["frame"]) == ("error", "not_found", "resume")
    for socket in sockets:
        await socket.disconnect()


@pytest.mark.django_db
class TestResyncFields:
    def test_resync_names_the_conversations_with_news_and_their_newest_number(self, chatty):
        """Ensure that `resync` lists, per person, only the conversations they are in that had a message since
        the break began, with the newest seq; everyone asked about gets an answer, even with nothing new."""
        owner, busy = a_group(title="Busy")
        ana, quiet_one = make_user(username="ana"), make_user(username="quiet")
        joined(busy, owner, ana)
        _owner, quiet = a_group(owner, title="Quiet")
        joined(quiet, owner, quiet_one)
        since = timezone.now()
        _say(busy, owner, "news")
        busy.refresh_from_db()
        fields = resync_fields([owner.public_id, ana.public_id, quiet_one.public_id], since)
        assert fields[owner.public_id] == {"conversations": {busy.public_id: busy.next_seq - 1}}
        assert fields[ana.public_id] == {"conversations": {busy.public_id: busy.next_seq - 1}}
        assert fields[quiet_one.public_id] == {"conversations": {}}
        earlier = resync_fields([quiet_one.public_id], since - timedelta(hours=1))
        assert list(earlier[quiet_one.public_id]["conversations"]) == [quiet.public_id]

    def test_someone_who_left_is_not_told_about_the_conversation(self, chatty):
        owner, group = a_group()
        ana = make_user(username="ana")
        joined(group, owner, ana)
        since = timezone.now() - timedelta(minutes=1)
        groups.group_leave(user=ana, conversation=group)
        _say(group, owner, "without ana")
        assert resync_fields([ana.public_id], since) == {ana.public_id: {"conversations": {}}}


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_resync_is_bare_when_the_database_cannot_say(monkeypatch):
    """Ensure that with the database away too, `resync` still goes out, bare: the client resumes everything."""

    def away(public_ids, since):
        raise DatabaseError("the database is away")

    monkeypatch.setattr(realtime, "_resync_fields", [away])
    events = await realtime.resync_events(["someone"], timezone.now())
    assert events == {"someone": json.dumps({"type": "resync"})}


class _FlakyLayer:
    """A channel layer whose Redis can be taken away: nothing is published or heard while it is down."""

    def __init__(self) -> None:
        self.down = False
        self.queues: dict[str, asyncio.Queue[dict]] = {}
        self.told: list[tuple[list[str], str]] = []

    async def new_channel(self, prefix: str = "specific.") -> str:
        self.queues[prefix] = asyncio.Queue()
        return prefix

    async def send(self, channel: str, message: dict) -> None:
        if self.down:
            raise ConnectionError("Redis is away")
        self.queues[channel].put_nowait(message)

    async def receive(self, channel: str) -> dict:
        return await self.queues[channel].get()


@pytest.mark.asyncio
async def test_after_a_break_the_watch_resyncs_its_sockets_and_those_it_could_not_reach(monkeypatch):
    """Ensure that when beats stop coming back and then come back, the watch tells this process's sockets and,
    once per distinct event, everyone whose events it could not publish, with details read since shortly
    before the break."""
    monkeypatch.setattr(layer_watch, "BEAT_EVERY", 0.01)
    monkeypatch.setattr(layer_watch, "BEAT_TIMEOUT", 0.05)
    monkeypatch.setattr(layer_watch, "_undelivered", set())
    layer = _FlakyLayer()
    local: list = []
    told: list[tuple[list[str], str]] = []
    recovered = asyncio.Event()

    async def resync_local(since):
        local.append(since)
        recovered.set()
        return {"here"}

    async def resync_events(public_ids, since):
        return {p: json.dumps({"type": "resync", "conversations": {"c": 1 if p != "carol" else 2}}) for p in public_ids}

    async def tell(public_ids, text):
        told.append((sorted(public_ids), text))

    watch = LayerWatch.ensure(layer, resync_local=resync_local, resync_events=resync_events, tell=tell)
    try:
        while watch.heard_at == watch.lost_since:  # a first beat came back
            await asyncio.sleep(0.01)
        layer.down = True
        while not watch.lost:
            await asyncio.sleep(0.01)
        layer_watch.note_undelivered(["ana", "ben", "carol"])
        assert local == []
        layer.down = False
        async with asyncio.timeout(10):
            await recovered.wait()
            while not told:
                await asyncio.sleep(0.01)
    finally:
        assert watch._task is not None
        watch._task.cancel()
    assert not watch.lost
    assert watch.resyncs == 1
    assert local[0].timestamp() == pytest.approx(watch.lost_since - layer_watch.RESYNC_MARGIN)
    assert sorted(told) == [
        (["ana", "ben"], json.dumps({"type": "resync", "conversations": {"c": 1}})),
        (["carol"], json.dumps({"type": "resync", "conversations": {"c": 2}})),
    ]
