import json

import pytest
from django.urls import reverse

from core.errors import PermissionDenied, ServiceError, ValidationFailed
from interests.models import Channel
from interests.services import channel_join, channel_transfer
from moderation import selectors, services
from moderation.models import ModerationAction, ModerationLogEntry, Report
from posts import selectors as post_selectors
from posts.models import Post
from posts.services import post_create_text
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def host():
    return make_user(username="host")


@pytest.fixture
def channel(host):
    return make_channel(name="Insomnia", host=host, rule="Night thoughts only")


@pytest.fixture
def member(channel):
    person = make_user(username="willow")
    channel_join(user=person, channel=channel)
    return person


@pytest.fixture
def post(channel, member):
    return post_create_text(author=member, channel=channel, text="buy cheap watches")


class TestRemove:
    def test_the_host_removes_with_a_reason_and_one_log_row(self, host, channel, post):
        services.report_create(reporter=make_user(), target_kind="post", target_id=post.public_id, reason="spam")
        services.post_remove(post=post, by=host, reason="  Off topic:   ads ")
        assert selectors.channel_reports(channel=channel, viewer=host) == []  # its reports are settled
        post.refresh_from_db()
        assert post.removed_at is not None
        assert post.removed_reason == "Off topic: ads"
        channel.refresh_from_db()
        assert channel.post_count == 0
        [entry] = ModerationLogEntry.objects.all()
        assert (entry.actor, entry.action, entry.post, entry.subject, entry.reason) == (
            host,
            ModerationAction.REMOVE_POST,
            post,
            post.author,
            "Off topic: ads",
        )
        assert post_selectors.channel_posts(viewer=host, channel=channel).page.items == []
        services.post_remove(post=post, by=host, reason="again")  # already gone: nothing more is logged
        assert ModerationLogEntry.objects.count() == 1

    def test_only_the_host_and_only_with_a_reason(self, host, member, post):
        with pytest.raises(PermissionDenied):
            services.post_remove(post=post, by=member, reason="mine")
        with pytest.raises(ValidationFailed) as caught:
            services.post_remove(post=post, by=host, reason="   ")
        assert "reason" in caught.value.fields
        post.refresh_from_db()
        assert post.removed_at is None
        assert not ModerationLogEntry.objects.exists()


class TestPin:
    def test_one_pinned_post_leads_the_channel(self, host, channel, member, post):
        other = post_create_text(author=member, channel=channel, text="newer")
        services.post_pin(post=post, by=host)
        feed = post_selectors.channel_posts(viewer=member, channel=channel)
        assert feed.pinned == post
        assert [p.pk for p in feed.page.items] == [other.pk]
        services.post_pin(post=other, by=host)
        assert Post.objects.filter(pinned_at__isnull=False).get() == other
        services.post_unpin(post=other, by=host)
        assert not Post.objects.filter(pinned_at__isnull=False).exists()
        assert list(ModerationLogEntry.objects.values_list("action", flat=True).order_by("pk")) == [
            "pin_post",
            "pin_post",
            "unpin_post",
        ]

    def test_the_pinned_post_leads_the_first_page_only_and_pages_hold_every_other_post_once(
        self, host, channel, member, post, django_assert_num_queries
    ):
        others = [post_create_text(author=member, channel=channel, text=f"n{i}") for i in range(6)]
        services.post_remove(post=others[0], by=host, reason="off topic")
        services.post_pin(post=others[3], by=host)
        first = post_selectors.channel_posts(viewer=member, channel=channel, size=2)
        assert first.pinned == others[3]
        with django_assert_num_queries(0):  # the author and channel came with the page
            assert first.pinned.author.username == "willow"
            assert {(p.author.username, p.channel.name) for p in first.page.items} == {("willow", "Insomnia")}
        # of the author only the name the card shows: no one's email or password hash read for a page of their posts
        assert {"email", "password", "pending_email"} <= first.pinned.author.get_deferred_fields()
        seen, cursor = [p.pk for p in first.page.items], first.page.next
        while cursor:
            feed = post_selectors.channel_posts(viewer=member, channel=channel, cursor=cursor, size=2)
            assert feed.pinned is None
            seen, cursor = seen + [p.pk for p in feed.page.items], feed.page.next
        expected = Post.objects.filter(channel=channel, removed_at__isnull=True, pinned_at__isnull=True)
        assert seen == list(expected.order_by("-created_at", "-public_id").values_list("pk", flat=True))
        assert others[0].pk not in seen
        assert others[3].pk not in seen
        assert len(seen) == 5
        services.post_remove(post=others[3], by=host, reason="off topic")  # a removed pin leads nothing
        assert post_selectors.channel_posts(viewer=member, channel=channel).pinned is None
        with pytest.raises(ServiceError):
            post_selectors.channel_posts(viewer=member, channel=channel, cursor="bm90IGEgY3Vyc29y")
        Channel.objects.filter(pk=channel.pk).update(is_closed=True)
        channel.refresh_from_db()
        closed = post_selectors.channel_posts(viewer=member, channel=channel)
        assert closed.pinned is None
        assert closed.page.items == []
        assert closed.page.next is None

    def test_only_the_host_pins(self, member, post):
        with pytest.raises(PermissionDenied):
            services.post_pin(post=post, by=member)


class TestReports:
    def test_reporting_a_post_twice_keeps_one_open_report(self, channel, post):
        reporter = make_user()
        first = services.report_create(reporter=reporter, target_kind="post", target_id=post.public_id, reason="spam")
        again = services.report_create(reporter=reporter, target_kind="post", target_id=post.public_id, reason="spam")
        assert first.pk == again.pk
        assert first.channel == channel
        services.report_create(reporter=make_user(), target_kind="post", target_id=post.public_id, reason="off_topic")
        groups = selectors.channel_reports(channel=channel, viewer=channel.host)
        assert [(g.target_id, g.count) for g in groups] == [(post.public_id, 2)]

    def test_hosts_alone_see_reports_and_the_log(self, channel, member):
        with pytest.raises(PermissionDenied):
            selectors.channel_reports(channel=channel, viewer=member)
        with pytest.raises(PermissionDenied):
            selectors.channel_log(channel=channel, viewer=member)

    @pytest.mark.parametrize(
        ("kind", "target", "reason", "code"),
        [
            ("post", "nope", "spam", "not_found"),
            ("channel", "nope", "spam", "not_found"),
            ("user", "nobody", "spam", "not_found"),
            ("poem", "x", "spam", "invalid"),
            ("post", "x", "boring", "invalid"),
        ],
    )
    def test_refusals(self, kind, target, reason, code):
        with pytest.raises(ServiceError) as caught:
            services.report_create(reporter=make_user(), target_kind=kind, target_id=target, reason=reason)
        assert caught.value.code == code
        assert not Report.objects.exists()

    def test_report_page(self, client, post):
        client.force_login(make_user())
        missing = client.post(reverse("moderation:report_post", args=[post.public_id]), {"reason": ""})
        assert missing.status_code == 400
        assert missing.context["form"].errors["reason"]
        response = client.post(
            reverse("moderation:report_post", args=[post.public_id]), {"reason": "spam", "text": "ads"}
        )
        assert response.status_code == 302
        assert Report.objects.get().text == "ads"

    def test_api(self, client, post):
        make_user(username="reporter")
        token = client.post(
            "/api/v1/auth/token",
            json.dumps({"login": "reporter", "password": PASSWORD}),
            content_type="application/json",
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = {"target_kind": "post", "target_id": post.public_id, "reason": "spam", "text": ""}
        created = client.post("/api/v1/reports", json.dumps(body), content_type="application/json", headers=headers)
        assert created.status_code == 201
        assert "reporter" not in created.text
        bad = client.post(
            "/api/v1/reports", json.dumps({**body, "reason": "x"}), content_type="application/json", headers=headers
        )
        assert bad.status_code == 400
        assert bad.json()["fields"] == {"reason": ["Choose a reason."]}


class TestHostPages:
    def test_remove_and_pin_from_the_page_and_see_the_log(self, client, host, channel, member, post):
        keep = post_create_text(author=member, channel=channel, text="3am again")
        client.force_login(host)
        assert client.post(reverse("moderation:pin", args=[keep.public_id]), {"action": "pin"}).status_code == 302
        page = client.get(reverse("interests:channel", args=[channel.public_id]))
        assert "Pinned by the host" in page.text
        empty = client.post(reverse("moderation:remove", args=[post.public_id]), {"reason": ""})
        assert empty.status_code == 400
        client.post(reverse("moderation:remove", args=[post.public_id]), {"reason": "ads"})
        settings_page = client.get(reverse("interests:settings", args=[channel.public_id]))
        assert "Removed a post" in settings_page.text
        assert "buy cheap watches" in settings_page.text
        assert "ads" in settings_page.text

    def test_others_cannot_open_the_remove_page(self, client, member, post):
        client.force_login(make_user())
        assert client.get(reverse("moderation:remove", args=[post.public_id])).status_code == 403

    def test_transfer_is_logged(self, host, channel, member):
        channel_transfer(channel=channel, by=host, to_username="willow")
        entry = ModerationLogEntry.objects.get()
        assert (entry.action, entry.subject) == ("transfer_channel", member)
        assert Channel.objects.get(pk=channel.pk).host == member


def test_host_api(client, host, channel, post):
    token = client.post(
        "/api/v1/auth/token", json.dumps({"login": "host", "password": PASSWORD}), content_type="application/json"
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/v1/posts/{post.public_id}/pin", headers=headers).status_code == 204
    assert (
        client.get(f"/api/v1/channels/{channel.public_id}/posts", headers=headers).json()["pinned"]["id"]
        == post.public_id
    )
    missing = client.post(
        f"/api/v1/posts/{post.public_id}/remove",
        json.dumps({"reason": ""}),
        content_type="application/json",
        headers=headers,
    )
    assert missing.status_code == 400
    done = client.post(
        f"/api/v1/posts/{post.public_id}/remove",
        json.dumps({"reason": "ads"}),
        content_type="application/json",
        headers=headers,
    )
    assert done.status_code == 204
    log = client.get(f"/api/v1/channels/{channel.public_id}/moderation", headers=headers).json()["log"]
    assert [e["action"] for e in log] == ["remove_post", "pin_post"]
    assert log[0]["subject"] == "willow"
