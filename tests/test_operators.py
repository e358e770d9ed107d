"""Operators: the admin (without emails for moderators), the report queue and its actions, suspensions and
channel bans enforced by the web, the API and the WebSocket, and private messages read only when reported."""

import json

import pytest
from channels.db import database_sync_to_async
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from accounts.models import User
from chat import services as chat_services
from core.errors import ServiceError
from interests.models import Membership
from interests.services import channel_create, channel_join
from moderation import operators
from moderation.models import ModerationLogEntry, Report
from moderation.services import report_create
from posts.models import Post
from posts.services import post_create_text
from tests.factories import PASSWORD, make_channel, make_user
from tests.test_chat import _connect_as

SECRET_EMAIL = "hidden-address@example.org"


def operator(username: str = "mod", *, emails: bool = False) -> User:
    person = make_user(username=username, is_staff=True)
    codenames = ["change_report", "view_report", "view_user", "change_user", "view_message", "view_conversation"]
    if emails:
        codenames.append("view_email")
    person.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=person.pk)  # fresh: permissions are cached per instance


def refused(call, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(**kwargs)
    return caught.value


def a_post(author=None, text="the fridge hums"):
    author = author or make_user()
    channel = make_channel(host=author)
    return post_create_text(author=author, channel=channel, text=text)


@pytest.mark.django_db
class TestAdmin:
    def test_every_registered_model_has_a_working_list_for_a_superuser(self, client):
        boss = User.objects.create_superuser(username="boss", email="boss@example.org", password=PASSWORD)
        a_post()
        client.force_login(boss)
        for model in admin.site._registry:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert client.get(url).status_code == 200, url

    def test_moderators_see_no_email_anywhere(self, client):
        person = make_user(username="privateperson", email=SECRET_EMAIL)
        client.force_login(operator())
        pages = [
            reverse("admin:accounts_user_changelist"),
            reverse("admin:accounts_user_changelist") + "?q=hidden-address",
            reverse("admin:accounts_user_change", args=[person.pk]),
        ]
        for url in pages:
            response = client.get(url)
            assert response.status_code == 200, url
            assert SECRET_EMAIL not in response.content.decode(), url
        # …while a moderator given the permission does.
        client.force_login(operator("mod2", emails=True))
        assert SECRET_EMAIL in client.get(reverse("admin:accounts_user_change", args=[person.pk])).content.decode()

    def test_the_admin_never_shows_what_a_message_says(self, client):
        author, knocker = make_user(), make_user()
        conversation, sent = chat_services.conversation_knock(
            sender=knocker, post=a_post(author), text="a very private sentence", client_id="k"
        )
        client.force_login(User.objects.create_superuser(username="boss", email="b@example.org", password=PASSWORD))
        for url in [
            reverse("admin:chat_message_changelist"),
            reverse("admin:chat_message_change", args=[sent.message.pk]),
            reverse("admin:chat_conversation_change", args=[conversation.pk]),
        ]:
            assert "a very private sentence" not in client.get(url).content.decode(), url


@pytest.mark.django_db
class TestQueue:
    def test_only_operators_open_it_and_it_groups_by_target(self, client):
        post = a_post()
        other = a_post(text="another")
        for _ in range(3):
            report_create(reporter=make_user(), target_kind="post", target_id=post.public_id, reason="spam")
        report_create(reporter=make_user(), target_kind="post", target_id=other.public_id, reason="hate")
        host = post.channel.host
        client.force_login(host)  # a host moderates their channel, not the site
        assert client.get("/ops/reports").status_code == 404  # the operators' pages don't exist for anyone else
        client.force_login(operator())
        page = client.get("/ops/reports").content.decode()
        assert page.index(post.public_id) < page.index(other.public_id)  # most-reported first
        detail = client.get(f"/ops/reports/post/{post.public_id}").content.decode()
        assert "the fridge hums" in detail

    def test_dismissing_closes_the_reports_and_logs_it(self):
        post = a_post()
        report_create(reporter=make_user(), target_kind="post", target_id=post.public_id, reason="spam")
        mod = operator()
        assert operators.reports_dismiss(by=mod, target_kind="post", target_id=post.public_id, reason="fine") == 1
        assert Report.objects.get().resolution == "dismiss_reports"
        entry = ModerationLogEntry.objects.get()
        assert (entry.actor, entry.action, entry.reason) == (mod, "dismiss_reports", "fine")
        assert refused(operators.reports_dismiss, by=mod, target_kind="post", target_id=post.public_id).status == 404

    def test_removing_a_post_logs_who_what_why(self):
        post = a_post()
        report_create(reporter=make_user(), target_kind="post", target_id=post.public_id, reason="spam")
        mod = operator()
        assert refused(operators.post_remove_by_operator, by=mod, post_id=post.public_id, reason=" ").fields == {
            "reason": ["Say why: it is logged, and the person concerned may read it."]
        }
        operators.post_remove_by_operator(by=mod, post_id=post.public_id, reason="spam links")
        post.refresh_from_db()
        assert (post.removed_reason, Report.objects.get().resolution) == ("spam links", "remove_post")
        entry = ModerationLogEntry.objects.get()
        assert (entry.action, entry.subject, entry.post, entry.reason) == (
            "remove_post",
            post.author,
            post,
            "spam links",
        )

    def test_non_operators_can_do_none_of_it(self):
        post = a_post()
        someone = post.channel.host
        assert refused(operators.post_remove_by_operator, by=someone, post_id=post.public_id, reason="x").code == (
            "not_operator"
        )
        assert refused(operators.account_suspend, by=someone, username="x", days=1, reason="x").code == "not_operator"
        assert not ModerationLogEntry.objects.exists()

    def test_closing_a_channel_takes_it_out_of_explore_and_stops_posts(self, client):
        post = a_post()
        channel = post.channel
        operators.channel_close(by=operator(), channel_id=channel.public_id, reason="off the rails")
        channel.refresh_from_db()
        assert channel.is_closed
        assert refused(post_create_text, author=channel.host, channel=channel, text="hi").code == "channel_closed"
        assert ModerationLogEntry.objects.get().action == "close_channel"


@pytest.mark.django_db
class TestSuspension:
    def test_a_suspended_person_is_told_why_and_cannot_post_message_or_create(self, client):
        post = a_post()
        person = make_user(username="loud")
        channel_join(user=person, channel=post.channel)
        report_create(reporter=make_user(), target_kind="user", target_id="loud", reason="harassment")
        operators.account_suspend(by=operator(), username="loud", days=7, reason="insulting people")
        person.refresh_from_db()
        assert person.is_suspended
        assert Report.objects.get().resolution == "suspend"

        assert refused(post_create_text, author=person, channel=post.channel, text="hi").code == "suspended"
        assert refused(channel_create, host=person, name="Mine", kind="text", category="life").code == "suspended"
        knock = refused(chat_services.conversation_knock, sender=person, post=post, text="hi", client_id="k")
        assert knock.code == "suspended"
        assert "insulting people" in knock.message
        assert "reported" not in knock.message.lower()  # the reporter is never mentioned

        client.force_login(person)
        page = client.get("/").content.decode()
        assert "Your account is suspended until" in page
        assert "insulting people" in page

        headers = {
            "Authorization": "Bearer "
            + client.post(
                "/api/v1/auth/token",
                json.dumps({"login": "loud", "password": PASSWORD}),
                content_type="application/json",
            ).json()["token"]
        }
        answer = client.post(
            f"/api/v1/channels/{post.channel.public_id}/posts",
            json.dumps({"text": "let me"}),
            content_type="application/json",
            headers=headers,
        )
        assert (answer.status_code, answer.json()["code"]) == (403, "suspended")
        assert Post.objects.filter(author=person).count() == 0

        operators.account_unsuspend(by=operator("mod2"), username="loud")
        person.refresh_from_db()
        post_create_text(author=person, channel=post.channel, text="sorry")

    def test_for_good(self):
        person = make_user(username="gone")
        operators.account_suspend(by=operator(), username="gone", days=None, reason="spam bot")
        person.refresh_from_db()
        assert person.suspended_until is not None
        assert person.suspended_until.year == 9999
        assert refused(channel_create, host=person, name="x", kind="text", category="life").message == (
            "Your account is suspended for good, for spam bot."
        )
        assert refused(operators.account_suspend, by=operator("m2"), username="gone", days=5, reason="x").fields == {
            "days": ["Suspend for 1, 3, 7 or 30 days, or for good."]
        }

    def test_a_ban_takes_someone_out_of_one_channel(self):
        post = a_post()
        channel = post.channel
        person = make_user(username="troll")
        channel_join(user=person, channel=channel)
        operators.channel_ban(by=operator(), channel_id=channel.public_id, username="troll", reason="trolling")
        assert not Membership.objects.filter(channel=channel, user=person).exists()
        assert refused(channel_join, user=person, channel=channel).code == "banned_from_channel"
        elsewhere = make_channel()
        channel_join(user=person, channel=elsewhere)  # only that channel
        assert refused(
            operators.channel_ban,
            by=operator("m2"),
            channel_id=channel.public_id,
            username=channel.host.username,
            reason="x",
        ).code == ("ban_host")


@pytest.mark.django_db
class TestReportedMessages:
    def test_only_someone_in_the_conversation_reports_and_reading_is_logged(self, client):
        author, knocker = make_user(username="author"), make_user(username="knocker")
        conversation, sent = chat_services.conversation_knock(
            sender=knocker, post=a_post(author), text="something nasty", client_id="k"
        )
        message_id = sent.message.public_id
        stranger = make_user()
        assert (
            refused(report_create, reporter=stranger, target_kind="message", target_id=message_id, reason="hate").status
            == 404
        )
        assert (
            refused(report_create, reporter=knocker, target_kind="message", target_id=message_id, reason="hate").status
            == 404
        )
        mod = operator()
        assert refused(operators.reported_message_read, by=mod, message_id=message_id).status == 404  # no report yet
        client.force_login(author)
        form = client.get(f"/chats/{conversation.public_id}/report").content.decode()
        assert "something nasty" in form
        sent_report = client.post(
            f"/chats/{conversation.public_id}/report", {"message_id": message_id, "reason": "harassment"}
        )
        assert sent_report.status_code == 302
        assert Report.objects.get().target_id == message_id

        client.force_login(mod)
        page = client.get(f"/ops/reports/message/{message_id}").content.decode()
        assert "something nasty" not in page  # hidden until asked for
        assert not ModerationLogEntry.objects.exists()
        read = client.post(f"/ops/reports/message/{message_id}", {"action": "read_message"}).content.decode()
        assert "something nasty" in read
        entry = ModerationLogEntry.objects.get()
        assert (entry.actor, entry.action, entry.subject) == (mod, "read_message", knocker)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_suspended_person_cannot_type_over_the_websocket():
    author = await database_sync_to_async(make_user)(username="author")
    person = await database_sync_to_async(make_user)(username="person")
    post = await database_sync_to_async(a_post)(author)
    conversation, _sent = await database_sync_to_async(chat_services.conversation_knock)(
        sender=person, post=post, text="hi", client_id="k"
    )
    mod = await database_sync_to_async(operator)()
    await database_sync_to_async(operators.account_suspend)(by=mod, username="person", days=1, reason="spam")
    socket = await _connect_as(person)
    await socket.send_json_to({"type": "typing", "conversation_id": conversation.public_id})
    answer = await socket.receive_json_from()
    assert (answer["type"], answer["code"]) == ("error", "suspended")
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from())["type"] == "pong"  # still connected: they can read
    await socket.disconnect()


@pytest.mark.django_db
def test_a_suspended_person_cannot_punch_in():
    from punches.services import punch_in

    host = make_user()
    channel = channel_create(host=host, name="Up early", kind="punch", category="life")
    person = make_user(username="sleepy")
    channel_join(user=person, channel=channel)
    operators.account_suspend(by=operator(), username="sleepy", days=1, reason="spam")
    person.refresh_from_db()
    assert refused(punch_in, user=person, channel=channel).code == "suspended"
