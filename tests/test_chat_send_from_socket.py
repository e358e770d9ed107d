"""A text sent over a socket signed in with a token (chat.services.message_send_from_socket): the first to a
conversation looks the token, the person and the conversation up, then sends as the API does; later ones read the
person inside the send's own first round trip (on PostgreSQL: two round trips in all). Every refusal leaves
nothing behind: no message, no number taken, no transaction left open."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.services import bearer_digest, token_issue
from chat import services
from chat.models import Conversation, Message
from core.errors import ServiceError
from core.realtime import SignedOut
from tests.factories import PASSWORD
from tests.test_chat_send_by_hand import a_pair, no_transaction_left_open

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_targets(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (999, 60), "message_new_account": (999, 60)}
    services._SOCKET_TARGETS.clear()
    yield
    services._SOCKET_TARGETS.clear()


def digest_of(user: User) -> str:
    secret = token_issue(login=user.username, password=PASSWORD, client_ip="x").secret
    digest = bearer_digest(secret)
    assert digest is not None
    return digest


def send(digest, sender, conversation, client_id, text="hello"):
    return services.message_send_from_socket(
        digest=digest, sender=sender, conversation_id=conversation.public_id, text=text, client_id=client_id
    )


def numbers(conversation):
    return list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("client_id", "seq"))


def test_texts_are_stored_in_order_and_a_resend_answers_the_first():
    """Ensure that the first and later texts are stored with consecutive numbers, and a resend of a client_id
    answers the first message without storing or numbering anything."""
    ana, _bo, conversation = a_pair()
    digest = digest_of(ana)
    first = send(digest, ana, conversation, "a1")
    second = send(digest, ana, conversation, "a2", text="again")
    again = send(digest, ana, conversation, "a1", text="typed twice")
    assert (first.created, second.created, again.created) == (True, True, False)
    assert again.message.pk == first.message.pk
    assert numbers(conversation) == [("a1", 1), ("a2", 2)]
    assert no_transaction_left_open()


def test_a_later_text_takes_two_round_trips(django_assert_num_queries):
    """Ensure that once the conversation is known, a text costs two round trips to PostgreSQL: the person, the
    number and the members in one, the message and the COMMIT in the other."""
    if connection.vendor != "postgresql":
        pytest.skip("the transaction written by hand is PostgreSQL's")
    ana, _bo, conversation = a_pair()
    digest = digest_of(ana)
    send(digest, ana, conversation, "a1")
    AccessToken.objects.filter(user=ana).update(last_used_at=timezone.now())  # its last use written a moment ago
    with django_assert_num_queries(2):
        send(digest, ana, conversation, "a2")


def refuse_after_the_first(change, error, *, conversation_is_known=True):
    ana, bo, conversation = a_pair()
    digest = digest_of(ana)
    if conversation_is_known:
        send(digest, ana, conversation, "a1")
    change(ana, bo, conversation)
    with pytest.raises(error) as raised:
        send(digest, ana, conversation, "a2")
    assert no_transaction_left_open()
    assert [client_id for client_id, _seq in numbers(conversation)] == (["a1"] if conversation_is_known else [])
    # Nothing was numbered: the next message is the next number.
    later = services.message_send(sender=bo, conversation=conversation, text="still here", client_id="b1")
    assert later.message.seq == (2 if conversation_is_known else 1)
    return raised.value


@pytest.mark.parametrize("known", [True, False])
def test_a_revoked_token_sends_nothing(known):
    """Ensure that a token revoked since the socket signed in raises SignedOut and stores nothing."""
    refuse_after_the_first(
        lambda ana, bo, conversation: AccessToken.objects.filter(user=ana).delete(),
        SignedOut,
        conversation_is_known=known,
    )


@pytest.mark.parametrize("known", [True, False])
def test_a_closed_account_sends_nothing(known):
    """Ensure that an account deactivated since the socket signed in sends nothing."""
    refuse_after_the_first(
        lambda ana, bo, conversation: User.objects.filter(pk=ana.pk).update(is_active=False),
        SignedOut,
        conversation_is_known=known,
    )


@pytest.mark.parametrize("known", [True, False])
def test_a_suspension_since_signing_in_is_read_fresh(known):
    """Ensure that a person suspended after their socket signed in (the socket's copy of them says otherwise) is
    refused with `suspended`."""
    error = refuse_after_the_first(
        lambda ana, bo, conversation: User.objects.filter(pk=ana.pk).update(
            suspended_until=timezone.now() + timedelta(days=1)
        ),
        ServiceError,
        conversation_is_known=known,
    )
    assert error.code == "suspended"


@pytest.mark.parametrize("known", [True, False])
def test_someone_removed_since_is_told_not_found(known):
    """Ensure that someone no longer in the conversation (its id known from an earlier send) is told not_found."""
    error = refuse_after_the_first(
        lambda ana, bo, conversation: conversation.participants.filter(user=ana).delete(),
        ServiceError,
        conversation_is_known=known,
    )
    assert error.code == "not_found"


def test_a_stranger_with_a_known_conversation_id_is_told_not_found():
    """Ensure that knowing a conversation's id (another socket sent to it) lets no one else in."""
    ana, _bo, conversation = a_pair()
    send(digest_of(ana), ana, conversation, "a1")
    eve = User.objects.create_user(username="eve", email="eve@example.com", password=PASSWORD)
    with pytest.raises(ServiceError) as raised:
        send(digest_of(eve), eve, conversation, "e1")
    assert raised.value.code == "not_found"
    assert no_transaction_left_open()
    assert numbers(conversation) == [("a1", 1)]
    assert Conversation.objects.get(pk=conversation.pk).next_seq == 2


def test_bad_text_is_refused_before_anything_is_written():
    """Ensure that empty text is refused with `invalid` naming the field, on the first send and later ones."""
    ana, _bo, conversation = a_pair()
    digest = digest_of(ana)
    for client_id in ("a1", "a2"):
        with pytest.raises(ServiceError) as raised:
            send(digest, ana, conversation, client_id, text="   ")
        assert "text" in raised.value.fields
    send(digest, ana, conversation, "a3")
    assert numbers(conversation) == [("a3", 1)]


def test_a_later_text_over_the_rate_limit_is_refused_and_leaves_nothing(settings):
    """Ensure that the rate limit counted while the first round trip runs refuses the text before anything is
    stored: no message, no number taken, no transaction left open; the next window sends again."""
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (2, 60), "message_new_account": (2, 60)}
    ana, _bo, conversation = a_pair()
    digest = digest_of(ana)
    send(digest, ana, conversation, "a1")
    send(digest, ana, conversation, "a2")  # the fast path from here on
    with pytest.raises(ServiceError) as refused:
        send(digest, ana, conversation, "a3")
    assert refused.value.code == "rate_limited"
    assert numbers(conversation) == [("a1", 1), ("a2", 2)]
    assert no_transaction_left_open()
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (99, 60), "message_new_account": (99, 60)}
    assert send(digest, ana, conversation, "a4").message.seq == 3
