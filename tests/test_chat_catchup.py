"""Catching up: `resume` answered in batches, each answer closed by `resume.done` (chat/catchup.py; the protocol
in docs/websocket.md)."""

import json

import pytest
from channels.db import database_sync_to_async

from chat import catchup, groups, services
from chat.catchup import Ask, answer
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
