"""What one message costs the database: the queries of `POST /api/v1/conversations/{id}/messages`, pinned, so a
change that adds one per send (or one per member) shows up here. Delivery itself is tested in test_chat_delivery."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AccessToken
from accounts.services import token_issue
from chat.models import Conversation, Message, Participant
from moderation.models import Block
from tests.factories import PASSWORD, make_user
from tests.test_chat_groups import a_group, joined

pytestmark = pytest.mark.django_db(transaction=True)


def _headers(user):
    issued = token_issue(login=user.username, password=PASSWORD, client_ip="x")
    return {"Authorization": f"Bearer {issued.secret}"}


def _send(client, conversation, headers, client_id, text="hello"):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            f"/api/v1/conversations/{conversation.public_id}/messages",
            {"text": text, "client_id": client_id},
            content_type="application/json",
            headers=headers,
        )
    return response, [q["sql"] for q in queries.captured_queries]


def _statements(sql):
    """The reads and writes, without the transaction's own BEGIN / SAVEPOINT / COMMIT (their spelling differs
    between SQLite and PostgreSQL)."""
    return [q for q in sql if q.split(" ", 1)[0] in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "EXECUTE")]


# the token with the conversation beside it (membership; one statement: api.routers.chat.BearerWithConversation), the
# next number taken with the row lock (UPDATE … RETURNING, which also answers a resend), its members (with blocks
# and whether anyone wants a push notification), the insert, the sender's read mark — on PostgreSQL in the
# insert's statement (a data-modifying WITH), on SQLite one of its own; and the sender's messages of the last minute
# (chat/limits.py: on PostgreSQL one statement per limit in the number's round trip, on SQLite one query for both).
# (Before: 5 / 6, the token and the conversation apart; 6 on both; 8, and 9 for a direct message: a SELECT … FOR
# UPDATE and an UPDATE for the number, blocks apart, the push check after the commit; earlier 10 + 1.)
def _send_statements():
    return 6


def _statements_in(sql):
    """Each captured string's statements (the test's texts have no semicolon)."""
    return [statement.strip() for query in sql for statement in query.split(";") if statement.strip()]


def _assert_round_trips(sql):
    """On PostgreSQL a send is 3 round trips, its transaction's BEGIN and COMMIT included: the token with the
    conversation, `BEGIN; the number; the members; the sender's recent messages`, `the insert with the read mark; COMMIT` (chat.services.
    _send_by_hand; under Django's `atomic` it was 7 with the token and the conversation apart, psycopg's BEGIN and
    Django's COMMIT each one of its own, which the capture does not list), each statement prepared once per
    connection (core/prepared.py: the warm-up send prepared them). On SQLite the statements as before."""
    if connection.vendor == "postgresql":
        assert len(sql) == 3, "\n".join(sql)
        assert sql[0].startswith("EXECUTE same_chat_token_conversation("), "\n".join(sql)
        assert sql[1].startswith("BEGIN; EXECUTE same_chat_take_number("), "\n".join(sql)
        assert "; EXECUTE same_chat_members_" in sql[1], "\n".join(sql)
        assert sql[1].count("; EXECUTE same_chat_recent_messages(") == 2, "\n".join(sql)  # no round trip of its own
        assert sql[2].startswith("EXECUTE same_chat_insert("), "\n".join(sql)
        assert sql[2].endswith("; COMMIT"), "\n".join(sql)
        assert len(_statements(_statements_in(sql))) == _send_statements(), "\n".join(sql)
    else:
        assert len(_statements(sql)) == _send_statements(), "\n".join(sql)


def _savepoints(sql):
    return [q for q in sql if q.split(" ", 1)[0] in ("SAVEPOINT", "RELEASE")]


@pytest.mark.parametrize("size", [2, 12])
def test_a_group_message_costs_the_same_few_queries_whatever_the_group_size(client, size):
    owner = make_user(username="owner")
    members = [make_user(username=f"m{i}") for i in range(size - 1)]
    _owner, group = a_group(owner)
    joined(group, owner, *members)
    headers = _headers(owner)
    _send(client, group, headers, "warm-up")  # the first request of a process reads a few things once
    response, sql = _send(client, group, headers, "c1")
    assert response.status_code == 201
    _assert_round_trips(sql)
    assert not _savepoints(sql), "\n".join(sql)  # each one is a round trip to the database
    assert Message.objects.filter(conversation=group, client_id="c1").count() == 1


def test_a_direct_message_costs_the_same_blocks_included_and_a_resend_writes_nothing(client):
    ana, bo = make_user(username="ana"), make_user(username="bo")
    conversation = Conversation.objects.create(kind="direct", state="active", started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=p) for p in (ana, bo)])
    headers = _headers(ana)
    _send(client, conversation, headers, "warm-up")
    response, sql = _send(client, conversation, headers, "c1")
    assert response.status_code == 201
    _assert_round_trips(sql)
    assert not _savepoints(sql), "\n".join(sql)
    conversation.refresh_from_db()
    before = (conversation.next_seq, conversation.last_message_at)
    again, sql = _send(client, conversation, headers, "c1", text="typed twice")
    assert again.status_code == 200
    writes = ("INSERT", "DELETE", "WITH", "EXECUTE same_chat_insert")
    assert not [q for q in _statements_in(sql) if q.startswith(writes)], "\n".join(sql)
    assert again.json()["id"] == response.json()["id"]
    conversation.refresh_from_db()
    assert (conversation.next_seq, conversation.last_message_at) == before  # no number taken, nothing moved
    assert list(Message.objects.filter(conversation=conversation).values_list("seq", "text")) == [
        (1, "hello"),
        (2, "hello"),
    ]


def test_a_message_moves_its_senders_read_mark_and_nobody_elses_and_a_refused_one_moves_none(client):
    ana, bo = make_user(username="ana"), make_user(username="bo")
    conversation = Conversation.objects.create(kind="direct", state="active", started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=p) for p in (ana, bo)])

    def marks():
        return dict(
            Participant.objects.filter(conversation=conversation).values_list("user__username", "last_read_seq")
        )

    assert _send(client, conversation, _headers(ana), "a1")[0].status_code == 201
    assert _send(client, conversation, _headers(ana), "a2")[0].status_code == 201
    assert marks() == {"ana": 2, "bo": 0}
    assert _send(client, conversation, _headers(bo), "b1")[0].status_code == 201
    assert marks() == {"ana": 2, "bo": 3}
    Block.objects.create(blocker=ana, blocked=bo)
    refused, _sql = _send(client, conversation, _headers(bo), "b2")
    assert refused.status_code == 403
    assert marks() == {"ana": 2, "bo": 3}


def test_a_direct_message_to_someone_who_blocked_you_is_refused_and_not_stored(client):
    ana, bo = make_user(username="ana"), make_user(username="bo")
    conversation = Conversation.objects.create(kind="direct", state="active", started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=p) for p in (ana, bo)])
    Block.objects.create(blocker=bo, blocked=ana)
    response, _sql = _send(client, conversation, _headers(ana), "c1")
    assert (response.status_code, response.json()["code"]) == (403, "blocked")
    assert not Message.objects.filter(conversation=conversation).exists()


def test_the_token_read_with_the_conversation_refuses_as_before(client):
    """The token and the conversation in one query (api.routers.chat.BearerWithConversation): a stranger's token
    gets the 404 of a conversation that does not exist, a token that is no one's or a deactivated person's 401, and
    the token's last use is still written."""
    ana, bo, stranger = make_user(username="ana"), make_user(username="bo"), make_user(username="stranger")
    conversation = Conversation.objects.create(kind="direct", state="active", started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=p) for p in (ana, bo)])
    missing = Conversation(public_id="no-such-conversation")
    answers = [
        _send(client, conversation, _headers(stranger), "s1")[0],
        _send(client, missing, _headers(ana), "a0")[0],
    ]
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(404, "not_found"), (404, "not_found")]
    assert _send(client, conversation, {"Authorization": "Bearer same_nobody"}, "x1")[0].status_code == 401
    headers = _headers(bo)
    bo.is_active = False
    bo.save(update_fields=["is_active"])
    assert _send(client, conversation, headers, "b1")[0].status_code == 401
    issued = token_issue(login=ana.username, password=PASSWORD, client_ip="x")
    AccessToken.objects.filter(pk=issued.token.pk).update(last_used_at=None)
    assert _send(client, conversation, {"Authorization": f"Bearer {issued.secret}"}, "a1")[0].status_code == 201
    issued.token.refresh_from_db()
    assert issued.token.last_used_at is not None
    assert not Message.objects.exclude(client_id="a1").exists()


def test_the_web_page_sends_with_its_session_as_before(client):
    ana, bo = make_user(username="ana"), make_user(username="bo")
    conversation = Conversation.objects.create(kind="direct", state="active", started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=p) for p in (ana, bo)])
    client.force_login(ana)
    response, _sql = _send(client, conversation, {}, "w1")
    assert response.status_code == 201
    client.force_login(make_user(username="stranger"))
    assert _send(client, conversation, {}, "w2")[0].status_code == 404
