"""An operator ends an account in the admin as its owner would: a deletion there runs every feature's deletion step
(accounts/deletion.py) as the owner's own does (accounts.services.user_remove), for each person of a "delete
selected", and closes their sockets once; a token stays its owner's for its life."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import AccessToken, User
from accounts.services import token_issue, user_delete
from chat import attachments
from chat import services as chat_services
from chat.models import Conversation, Message
from interests.models import Channel
from interests.services import channel_join
from posts.polls import poll_vote, post_create_poll
from posts.services import post_create_text
from recommendations.models import RecommendationPrefs
from tests.factories import PASSWORD, make_channel, make_user
from tests.samples import png, voice_webm
from tests.test_socket_signout import _account_closings

pytestmark = pytest.mark.django_db


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored(media_root: Path) -> list[Path]:
    return sorted(p for p in Path(media_root).rglob("*") if p.is_file())


def _superuser_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser(username="boss", email="boss@example.org", password=PASSWORD))
    return client


def _moderator_client() -> Client:
    """Staff who may see and change accounts, not delete them."""
    moderator = make_user(username="mod", is_staff=True)
    moderator.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user"]))
    client = Client()
    client.force_login(moderator)
    return client


def _admin_delete(client: Client, door: str, *people: User) -> int:
    """The operator's POST that deletes `people`: the change page's delete confirmed, or the list's "delete
    selected" confirmed."""
    if door == "admin_delete_view":
        (person,) = people
        return client.post(reverse("admin:accounts_user_delete", args=[person.pk]), {"post": "yes"}).status_code
    return client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "delete_selected", "_selected_action": [p.pk for p in people], "post": "yes"},
    ).status_code


def _ana_on_her_way_out() -> tuple[User, User, Channel, Channel, Conversation]:
    """ana hosts a channel ben joined, and a channel of her own with a cover; she sent ben a voice message."""
    ana, ben = make_user(username="ana"), make_user(username="ben")
    shared = make_channel(host=ana, name="Night thoughts")
    channel_join(user=ben, channel=shared)
    lonely = make_channel(host=ana, name="Only mine", cover=png())
    post = post_create_text(author=ben, channel=shared, text="awake again")
    conversation, _sent = chat_services.conversation_knock(sender=ana, post=post, text="me too", client_id="k1")
    chat_services.conversation_accept(user=ben, conversation=conversation)
    voice = SimpleUploadedFile("voice.webm", voice_webm(1.0), content_type="audio/webm")
    attachments.message_send_voice(sender=ana, conversation=conversation, audio=voice, client_id="v1")
    return ana, ben, shared, lonely, conversation


@pytest.mark.parametrize("door", ["owner", "admin_delete_view", "admin_delete_selected"])
def test_an_account_deleted_in_the_admin_leaves_what_its_owners_deletion_leaves(
    door, media_root, django_capture_on_commit_callbacks
):
    """Ensure that deleting an account in the admin (the change page's delete, the list's "delete selected") runs
    the features' deletion steps as the owner's own deletion does: the channel she hosted passes to its member
    with its count mended, her channel of one goes with its cover's file, her messages are blanked and their voice
    file leaves storage. A moderator without the permission to delete is refused and nothing goes."""
    ana, ben, shared, lonely, conversation = _ana_on_her_way_out()
    files = stored(media_root)
    assert len(files) == 2  # the cover and the voice message
    if door != "owner":
        refused = {"admin_delete_view": 403, "admin_delete_selected": 200}  # the list again: no such action for them
        assert _admin_delete(_moderator_client(), door, ana) == refused[door]
        assert User.objects.filter(pk=ana.pk).exists()
        assert stored(media_root) == files
        assert Channel.objects.get(pk=shared.pk).host == ana
    with django_capture_on_commit_callbacks(execute=True):
        if door == "owner":
            user_delete(user=ana, password=PASSWORD)
        else:
            assert _admin_delete(_superuser_client(), door, ana) == 302
    assert not User.objects.filter(pk=ana.pk).exists()
    shared.refresh_from_db()
    assert (shared.host, shared.member_count) == (ben, 1)
    assert not Channel.objects.filter(pk=lonely.pk).exists()
    assert stored(media_root) == []
    kept = Message.objects.filter(conversation=conversation).order_by("seq").values_list("kind", "text", "audio")
    assert list(kept) == [("deleted", "", ""), ("deleted", "", "")]


def test_delete_selected_removes_each_person_in_turn_and_closes_each_ones_sockets_once(
    monkeypatch, django_capture_on_commit_callbacks
):
    """Ensure that "delete selected" for two people, one the heir of the other's channel, goes person by person: the
    channel passes on past both to the member left, its count mended, and each person's sockets are told to close
    once."""
    ana, ben, carol = make_user(username="ana"), make_user(username="ben"), make_user(username="carol")
    shared = make_channel(host=ana)
    channel_join(user=ben, channel=shared)  # ben first: ana's heir
    channel_join(user=carol, channel=shared)
    operator = _superuser_client()
    closings = _account_closings(monkeypatch)
    with django_capture_on_commit_callbacks(execute=True):
        assert _admin_delete(operator, "admin_delete_selected", ana, ben) == 302
    assert not User.objects.filter(pk__in=[ana.pk, ben.pk]).exists()
    shared.refresh_from_db()
    assert (shared.host, shared.member_count) == (carol, 1)
    assert sorted(ending.person for ending in closings) == sorted([ana.public_id, ben.public_id])


def test_a_tokens_owner_stays_its_owner_in_the_admin():
    """Ensure that the admin's change page of a token shows its owner without a field to change it, and that a POST
    naming another owner leaves the token with its person (the app holding it still acts as ana, never as ben)
    while the rest of the form is saved; and that none can be added there."""
    ana, ben = make_user(username="ana"), make_user(username="ben")
    issued = token_issue(login="ana", password=PASSWORD, client_ip="x", name="phone")
    operator = _superuser_client()
    page = reverse("admin:accounts_accesstoken_change", args=[issued.token.pk])
    shown = operator.get(page)
    assert shown.status_code == 200
    assert 'name="user"' not in shown.text
    assert operator.post(page, {"user": ben.pk, "name": "old phone", "_save": "Save"}).status_code == 302
    token = AccessToken.objects.get(pk=issued.token.pk)
    assert (token.user, token.name) == (ana, "old phone")
    me = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert me.json()["username"] == "ana"
    # None is added here: a token is made by its person signing in an app, who alone sees its secret.
    assert operator.get(reverse("admin:accounts_accesstoken_add")).status_code == 403
    assert operator.post(reverse("admin:accounts_accesstoken_add"), {"user": ben.pk, "name": "x"}).status_code == 403
    assert not AccessToken.objects.filter(user=ben).exists()


def _confirmation(client: Client, door: str, *people: User) -> str:
    """The page that asks the operator to confirm, before anything is deleted."""
    if door == "admin_delete_view":
        (person,) = people
        response = client.get(reverse("admin:accounts_user_delete", args=[person.pk]))
    else:
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "delete_selected", "_selected_action": [p.pk for p in people]},
        )
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("door", ["admin_delete_view", "admin_delete_selected"])
def test_the_confirmation_says_what_the_deletion_steps_will_do(door, media_root):
    ana, ben, shared, lonely, conversation = _ana_on_her_way_out()
    post_create_text(author=ana, channel=shared, text="before I go")
    RecommendationPrefs.objects.create(user=ana, personalised=False)
    cy = make_user(username="cy")
    polls = make_channel(host=cy, name="Tonight", kind="vote")
    channel_join(user=ana, channel=polls)
    poll = post_create_poll(author=cy, channel=polls, question="Tea?", options=["mint", "black"], multiple=True)
    poll_vote(user=ana, post=poll, option_ids=[o.public_id for o in poll.poll.options.all()])
    client = _superuser_client()

    page = _confirmation(client, door, ana)
    assert "Recommendation preferences: 1" in page, "the rows that go are named in plain words"
    assert "Ballots: 1" in page
    assert "Ballot choices: 2" in page
    assert "relationship" not in page
    assert "1 channel they host passes to its longest-standing member." in page
    assert "1 channel they host has no other member: it is deleted, with everything posted in it." in page
    assert "Their 1 post goes with its photo or recording, if it has one" in page
    assert "The words, voices and photos of the 2 messages they sent are erased" in page
    assert "sticker" not in page.split("Summary")[-1].lower(), "she made no sticker: nothing said of stickers"
    # Asking deletes nothing.
    assert User.objects.filter(pk=ana.pk).exists()
    assert Channel.objects.filter(pk=lonely.pk).exists()
    assert Message.objects.filter(sender=ana, conversation=conversation).exclude(text="").count() == 1

    page = _confirmation(client, door, ben)
    assert "channel they host" not in page, "ben hosts nothing"
    assert "Their 1 post goes" in page
    assert "messages they sent" not in page


def test_the_confirmation_of_several_counts_them_together(media_root):
    ana, ben, _shared, _lonely, _conversation = _ana_on_her_way_out()
    page = _confirmation(_superuser_client(), "admin_delete_selected", ana, ben)
    # With ben deleted too, the channel he joined has no other member left to pass to.
    assert "2 channels they host have no other member: they are deleted, with everything posted in them." in page
    assert "passes to" not in page
    assert "Their 1 post goes" in page  # ben's
