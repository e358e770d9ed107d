"""A text sent over a socket signed in with a token (chat.services.message_send_from_socket): the first to a
conversation looks the token, the person and the conversation up, then sends as the API does; later ones read the
person inside the send's own first round trip (on PostgreSQL: two round trips in all). Every refusal leaves
nothing behind: no message, no number taken, no transaction left open."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from accounts.models import AccessToken, User
from accounts.services import bearer_digest, token_issue
from chat import services
from chat.models import Conversation, Message
from core.errors import ServiceError
from core.realtime import Credential, SignedOut
from moderation.models import Block
from tests.factories import PASSWORD
from tests.test_chat_groups import a_group, joined
from tests.test_chat_send_by_hand import a_pair, no_transaction_left_open
from tests.test_permission_matrix_ws import _session_cookie

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


@pytest.fixture(params=["token", "session"])
def signed_in(request):
    """What signs a socket in, both ways: a token (an app) or a session (the web)."""

    def credential(user: User) -> Credential:
        if request.param == "token":
            return Credential(token_digest=digest_of(user))
        return Credential(session_key=_session_cookie(user))

    return credential


def send(signed, sender, conversation, client_id, text="hello"):
    return services.message_send_from_socket(
        credential=signed if isinstance(signed, Credential) else Credential(token_digest=signed),
        sender=sender,
        conversation_id=conversation.public_id,
        text=text,
        client_id=client_id,
    )


def numbers(conversation):
    return list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("client_id", "seq"))


def test_texts_are_stored_in_order_and_a_resend_answers_the_first(signed_in):
    """Ensure that the first and later texts are stored with consecutive numbers, and a resend of a client_id
    answers the first message without storing or numbering anything."""
    ana, _bo, conversation = a_pair()
    digest = signed_in(ana)
    first = send(digest, ana, conversation, "a1")
    second = send(digest, ana, conversation, "a2", text="again")
    again = send(digest, ana, conversation, "a1", text="typed twice")
    assert (first.created, second.created, again.created) == (True, True, False)
    assert again.message.pk == first.message.pk
    assert numbers(conversation) == [("a1", 1), ("a2", 2)]
    assert no_transaction_left_open()


def test_a_later_text_takes_one_round_trip(django_assert_num_queries):
    """Ensure that once the conversation is known, a text costs one round trip to PostgreSQL: the person, the
    number, the members, the message under the rules' condition and the COMMIT in one string."""
    if connection.vendor != "postgresql":
        pytest.skip("the transaction written by hand is PostgreSQL's")
    ana, _bo, conversation = a_pair()
    digest = digest_of(ana)
    send(digest, ana, conversation, "a1")
    send(digest, ana, conversation, "a2")  # the statements of the one round trip prepared on this connection
    with django_assert_num_queries(1) as queries:
        send(digest, ana, conversation, "a3")
    assert queries.captured_queries[0]["sql"].startswith("BEGIN; EXECUTE same_bearer_lookup_touched(")
    assert queries.captured_queries[0]["sql"].endswith("; COMMIT")
    assert numbers(conversation) == [("a1", 1), ("a2", 2), ("a3", 3)]


def test_a_token_s_last_use_is_written_at_most_once_a_minute():
    """Ensure that the one round trip writes the token's last use when it is over a minute old, and only then."""
    ana, _bo, conversation = a_pair()
    digest = digest_of(ana)
    send(digest, ana, conversation, "a1")
    a_while_ago = timezone.now() - timedelta(minutes=2)
    AccessToken.objects.filter(user=ana).update(last_used_at=a_while_ago)
    send(digest, ana, conversation, "a2")
    written = AccessToken.objects.get(user=ana).last_used_at
    assert written is not None
    assert written > a_while_ago + timedelta(minutes=1)
    moments_ago = timezone.now() - timedelta(seconds=10)
    AccessToken.objects.filter(user=ana).update(last_used_at=moments_ago)
    send(digest, ana, conversation, "a3")
    assert AccessToken.objects.get(user=ana).last_used_at == moments_ago


def refuse_after_the_first(change, error, *, conversation_is_known=True, signed_in=digest_of):
    ana, bo, conversation = a_pair()
    digest = signed_in(ana)
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
def test_a_closed_account_sends_nothing(known, signed_in):
    """Ensure that an account deactivated since the socket signed in sends nothing."""
    refuse_after_the_first(
        lambda ana, bo, conversation: User.objects.filter(pk=ana.pk).update(is_active=False),
        SignedOut,
        conversation_is_known=known,
        signed_in=signed_in,
    )


@pytest.mark.parametrize("known", [True, False])
def test_a_suspension_since_signing_in_is_read_fresh(known, signed_in):
    """Ensure that a person suspended after their socket signed in (the socket's copy of them says otherwise) is
    refused with `suspended`."""
    error = refuse_after_the_first(
        lambda ana, bo, conversation: User.objects.filter(pk=ana.pk).update(
            suspended_until=timezone.now() + timedelta(days=1)
        ),
        ServiceError,
        conversation_is_known=known,
        signed_in=signed_in,
    )
    assert error.code == "suspended"


@pytest.mark.parametrize("known", [True, False])
def test_someone_removed_since_is_told_not_found(known, signed_in):
    """Ensure that someone no longer in the conversation (its id known from an earlier send) is told not_found."""
    error = refuse_after_the_first(
        lambda ana, bo, conversation: conversation.participants.filter(user=ana).delete(),
        ServiceError,
        conversation_is_known=known,
        signed_in=signed_in,
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
    """Ensure that the limit on messages, judged in the one round trip's condition (then by the rules), refuses
    the text: no message, no number taken, no transaction left open; a looser limit sends again."""
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


def block(blocker, blocked):
    Block.objects.create(blocker=blocker, blocked=blocked)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda ana, bo, conversation: block(bo, ana), "blocked"),
        (lambda ana, bo, conversation: block(ana, bo), "blocked"),
        (
            lambda ana, bo, conversation: Conversation.objects.filter(pk=conversation.pk).update(state="closed"),
            "conversation_closed",
        ),
    ],
    ids=["blocked by them", "blocked them", "closed"],
)
def test_a_rule_that_refuses_a_later_text_refuses_it_through_the_one_round_trip(change, code, signed_in):
    """Ensure that what the rules refuse, the one round trip's condition refuses too (its number stays NULL, the
    transaction rolls back), and the rules then answer with their own code: nothing stored, no number taken."""
    ana, bo, conversation = a_pair()
    digest = signed_in(ana)
    send(digest, ana, conversation, "a1")
    change(ana, bo, conversation)
    with pytest.raises(ServiceError) as refused:
        send(digest, ana, conversation, "a2")
    assert refused.value.code == code
    assert no_transaction_left_open()
    assert numbers(conversation) == [("a1", 1)]
    assert Conversation.objects.get(pk=conversation.pk).next_seq == 2  # no number taken


def test_a_request_s_fourth_message_is_refused_and_the_author_answering_accepts_it(signed_in):
    """Ensure that a conversation still a request goes by its rules, not the one round trip's plain case: the
    knocker's 4th message refused (`awaiting_acceptance`), the author's answer stored and accepting it."""
    ana, bo, conversation = a_pair(state="request")  # ana knocked on bo's post
    ana_digest, bo_digest = signed_in(ana), signed_in(bo)
    for n in range(1, 4):
        send(ana_digest, ana, conversation, f"a{n}")
    with pytest.raises(ServiceError) as refused:
        send(ana_digest, ana, conversation, "a4")
    assert refused.value.code == "awaiting_acceptance"
    assert no_transaction_left_open()
    assert send(bo_digest, bo, conversation, "b1").message.seq == 4
    conversation.refresh_from_db()
    assert conversation.state == "active"
    assert send(ana_digest, ana, conversation, "a5").message.seq == 5  # and now the plain case
    assert numbers(conversation) == [("a1", 1), ("a2", 2), ("a3", 3), ("b1", 4), ("a5", 5)]


def test_a_later_text_is_announced_to_the_members_who_hear_it(monkeypatch, signed_in):
    """Ensure that the one round trip announces its message, after the COMMIT, to the members read under the
    conversation's lock (not one who ignores it), with the sender as the token found them."""
    owner = User.objects.create_user(username="owner", email="owner@example.com", password=PASSWORD)
    ana = User.objects.create_user(username="ana", email="ana@example.com", password=PASSWORD)
    bo = User.objects.create_user(username="bo", email="bo@example.com", password=PASSWORD)
    _owner, group = a_group(owner)
    joined(group, owner, ana, bo)
    group.participants.filter(user=bo).update(ignored=True)
    digest = signed_in(ana)
    send(digest, ana, group, "a1")
    announced = []
    monkeypatch.setattr(services, "announce_message", lambda message, listeners: announced.append((message, listeners)))
    sent = send(digest, ana, group, "a2", text="to the group")
    [(message, listeners)] = announced
    assert message.pk == sent.message.pk == Message.objects.get(client_id="a2", sender=ana).pk
    stored = Message.objects.get(pk=message.pk)
    assert (message.seq, message.text, message.sender.username) == (stored.seq, "to the group", "ana")
    assert stored.seq == Message.objects.get(client_id="a1", sender=ana).seq + 1
    assert sorted(listeners) == sorted([owner.public_id, ana.public_id])


def test_a_session_s_later_text_takes_one_round_trip(django_assert_num_queries):
    """Ensure that a web socket's later text, too, costs one round trip: the session's row and the person's password
    checked in the rules' condition."""
    if connection.vendor != "postgresql":
        pytest.skip("the transaction written by hand is PostgreSQL's")
    ana, _bo, conversation = a_pair()
    signed = Credential(session_key=_session_cookie(ana))
    send(signed, ana, conversation, "a1")
    send(signed, ana, conversation, "a2")  # the statements of the one round trip prepared on this connection
    with django_assert_num_queries(1) as queries:
        send(signed, ana, conversation, "a3")
    assert queries.captured_queries[0]["sql"].startswith("BEGIN; EXECUTE same_chat_session_signer(")
    assert ana.password not in queries.captured_queries[0]["sql"]  # a digest of it, never the hash itself
    assert numbers(conversation) == [("a1", 1), ("a2", 2), ("a3", 3)]


def _end_session(signed: Credential, ana: User) -> None:
    Session.objects.filter(session_key=signed.session_key).delete()


def _expire_session(signed: Credential, ana: User) -> None:
    Session.objects.filter(session_key=signed.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))


def _change_password(signed: Credential, ana: User) -> None:
    person = User.objects.get(pk=ana.pk)
    person.set_password("a-new-password-1")
    User.objects.filter(pk=ana.pk).update(password=person.password)  # behind the services' back: no announcement


@pytest.mark.parametrize(
    "change", [_end_session, _expire_session, _change_password], ids=["signed out", "expired", "password changed"]
)
@pytest.mark.parametrize("known", [True, False])
def test_a_session_that_no_longer_signs_the_person_in_sends_nothing(change, known):
    """Ensure that a web socket whose session ended, expired, or no longer matches the person's password (each
    done without telling any socket) raises SignedOut at its next text and stores nothing, no number taken."""
    ana, bo, conversation = a_pair()
    signed = Credential(session_key=_session_cookie(ana))
    _session_cookie(bo)  # someone else's session goes on: it is ana's that counts
    if known:
        send(signed, ana, conversation, "a1")
    change(signed, ana)
    with pytest.raises(SignedOut):
        send(signed, ana, conversation, "a2")
    assert no_transaction_left_open()
    assert [client_id for client_id, _seq in numbers(conversation)] == (["a1"] if known else [])
    assert Conversation.objects.get(pk=conversation.pk).next_seq == (2 if known else 1)
