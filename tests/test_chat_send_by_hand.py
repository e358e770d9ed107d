"""A message sent outside any transaction: on PostgreSQL its transaction is written by hand, `BEGIN` and `COMMIT`
riding in the statements' round trips (chat.services._send_by_hand). The same rules as under `atomic`, a refusal
or a failure leaves nothing (no message, no number taken, no transaction left open on the connection), the
announcement waits for the COMMIT, and inside a caller's `atomic` block the send is part of the caller's
transaction. On SQLite these run the `atomic` path: the behaviour asserted is the same."""

import pytest
from django.db import connection, transaction

from chat import services
from chat.models import Conversation, Message, Participant
from core.errors import ServiceError
from moderation.models import Block
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


def a_pair(state="active"):
    ana, bo = make_user(username="ana"), make_user(username="bo")
    conversation = Conversation.objects.create(kind="direct", state=state, started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=p) for p in (ana, bo)])
    return ana, bo, conversation


def no_transaction_left_open():
    if connection.vendor != "postgresql" or connection.connection is None:
        return True
    from psycopg import pq

    return connection.connection.info.transaction_status == pq.TransactionStatus.IDLE


def send(sender, conversation, client_id, text="hello"):
    found = Conversation.objects.get(pk=conversation.pk)  # as the view has it: read before the send
    return services.message_send(sender=sender, conversation=found, text=text, client_id=client_id)


def test_a_message_is_stored_numbered_and_the_connection_left_outside_a_transaction():
    ana, bo, conversation = a_pair()
    first, second = send(ana, conversation, "a1"), send(bo, conversation, "b1")
    assert (first.created, first.message.seq, second.message.seq) == (True, 1, 2)
    assert no_transaction_left_open()
    conversation.refresh_from_db()
    assert conversation.next_seq == 3
    assert list(Message.objects.order_by("seq").values_list("sender__username", "text")) == [
        ("ana", "hello"),
        ("bo", "hello"),
    ]
    again = send(ana, conversation, "a1", text="typed twice")
    assert (again.created, again.message.pk) == (False, first.message.pk)
    assert no_transaction_left_open()


def _close(conversation, ana, bo):
    Conversation.objects.filter(pk=conversation.pk).update(state="closed")


def _block(conversation, ana, bo):
    Block.objects.create(blocker=bo, blocked=ana)


def _remove(conversation, ana, bo):
    Participant.objects.filter(conversation=conversation, user=ana).delete()


@pytest.mark.parametrize(
    ("change", "code"), [(_close, "conversation_closed"), (_block, "blocked"), (_remove, "not_found")]
)
def test_a_refused_message_leaves_nothing_behind(change, code):
    ana, bo, conversation = a_pair()
    send(ana, conversation, "a1")
    change(conversation, ana, bo)
    with pytest.raises(ServiceError) as caught:
        send(ana, conversation, "a2")
    assert caught.value.code == code
    assert no_transaction_left_open()
    conversation.refresh_from_db()
    assert conversation.next_seq == 2  # the number taken for the refused message was rolled back with it
    assert list(Message.objects.values_list("client_id", flat=True)) == ["a1"]


def test_a_request_allows_three_messages_and_the_recipients_answer_accepts_it():
    ana, bo, conversation = a_pair(state="request")
    for n in range(3):
        send(ana, conversation, f"a{n}")
    with pytest.raises(ServiceError) as caught:
        send(ana, conversation, "a3")
    assert caught.value.code == "awaiting_acceptance"
    assert no_transaction_left_open()
    send(bo, conversation, "b1")
    conversation.refresh_from_db()
    assert (conversation.state, conversation.next_seq) == ("active", 5)
    assert send(ana, conversation, "a3").message.seq == 5


def test_a_failure_between_the_two_round_trips_rolls_everything_back(monkeypatch):
    ana, _bo, conversation = a_pair()

    def broken(**kwargs):
        raise RuntimeError("a bug in a rule")

    monkeypatch.setattr(services, "_obey_the_rules", broken)
    with pytest.raises(RuntimeError):
        send(ana, conversation, "a1")
    assert no_transaction_left_open()
    conversation.refresh_from_db()
    assert conversation.next_seq == 1
    assert not Message.objects.exists()


def test_the_message_is_announced_only_once_committed(monkeypatch):
    ana, _bo, conversation = a_pair()
    seen = []

    def announce(message, listeners=None):
        # Committed: outside any transaction, and in the table for every other connection.
        seen.append((no_transaction_left_open(), connection.in_atomic_block, message.seq, sorted(listeners or [])))

    monkeypatch.setattr(services, "announce_message", announce)
    send(ana, conversation, "a1")
    assert seen == [
        (True, False, 1, sorted([ana.public_id, Participant.objects.get(user__username="bo").user.public_id]))
    ]


def test_inside_a_callers_atomic_block_the_message_is_part_of_the_callers_transaction():
    ana, _bo, conversation = a_pair()
    with transaction.atomic():
        send(ana, conversation, "a1")
        transaction.set_rollback(True)
    assert not Message.objects.exists()  # written by hand, its COMMIT would have kept it
    conversation.refresh_from_db()
    assert conversation.next_seq == 1
    assert no_transaction_left_open()
