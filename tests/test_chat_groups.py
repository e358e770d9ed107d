"""Group chats: made by anyone, joined by invite link or from a channel, managed by owner and admins."""

import json
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from chat import groups, selectors, services
from chat.blocks import block_create
from chat.models import Conversation, Invite, Message, Participant
from core.errors import ServiceError
from interests.services import channel_join
from posts.services import post_create_text
from tests.factories import PASSWORD, make_channel, make_user
from tests.test_chat import _connect_as


def a_group(owner=None, title="Night owls"):
    owner = owner or make_user(username="owner")
    return owner, groups.group_create(owner=owner, title=title)


def joined(group, owner, *people):
    invite = groups.invite_create(user=owner, conversation=group)
    for person in people:
        groups.group_join_by_invite(user=person, code=invite.code)
    return invite


def refused(call, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call(**kwargs)
    return caught.value


@pytest.mark.django_db
class TestGroups:
    def test_anyone_starts_a_group_and_people_join_by_link(self):
        owner, group = a_group()
        ana, bo = make_user(username="ana"), make_user(username="bo")
        joined(group, owner, ana, bo)
        services.message_send(sender=ana, conversation=group, text="hello all", client_id="a1")
        history = list(Message.objects.order_by("seq").values_list("kind", "sender__username", "text"))
        assert history == [
            ("event", "owner", "created"),
            ("event", "ana", "joined"),
            ("event", "bo", "joined"),
            ("text", "ana", "hello all"),
        ]
        rows = selectors.conversation_rows(user=bo)
        assert [(r.name, r.is_group, r.unread) for r in rows] == [("Night owls", True, 1)]  # events aren't unread
        assert Participant.objects.get(conversation=group, user=owner).role == "owner"

    def test_names_are_required_and_short(self):
        owner = make_user()
        assert refused(groups.group_create, owner=owner, title="  ").fields == {"title": ["Give the group a name."]}
        assert "title" in refused(groups.group_create, owner=owner, title="x" * 81).fields

    def test_only_managers_make_and_revoke_links_and_dead_links_say_why(self):
        owner, group = a_group()
        ana = make_user(username="ana")
        invite = joined(group, owner, ana)
        assert refused(groups.invite_create, user=ana, conversation=group).code == "not_group_admin"
        assert refused(groups.invite_create, user=owner, conversation=group, days=3).fields == {
            "days": ["An invite lasts 1, 7 or 30 days."]
        }
        groups.invite_revoke(user=owner, conversation=group, code=invite.code)
        late = make_user()
        error = refused(groups.group_join_by_invite, user=late, code=invite.code)
        assert (error.code, error.status) == ("invite_revoked", 410)
        old = groups.invite_create(user=owner, conversation=group, days=1)
        Invite.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert refused(groups.group_join_by_invite, user=late, code=old.code).code == "invite_expired"
        assert refused(groups.group_join_by_invite, user=late, code="made-up").status == 404
        assert not Participant.objects.filter(user=late).exists()

    def test_a_group_holds_at_most_its_limit(self, monkeypatch):
        monkeypatch.setattr(groups, "GROUP_MAX_MEMBERS", 3)
        owner, group = a_group()
        invite = joined(group, owner, make_user(), make_user())
        error = refused(groups.group_join_by_invite, user=make_user(), code=invite.code)
        assert (error.code, error.status) == ("group_full", 403)
        assert group.participants.count() == 3

    def test_removed_members_lose_the_conversation_at_once(self):
        owner, group = a_group()
        ana, bo = make_user(username="ana"), make_user(username="bo")
        joined(group, owner, ana, bo)
        assert refused(groups.member_remove, by=ana, conversation=group, username="bo").code == "not_group_admin"
        groups.member_remove(by=owner, conversation=group, username="bo")
        assert refused(services.conversation_for_participant, user=bo, conversation_id=group.public_id).status == 404
        assert refused(services.message_send, sender=bo, conversation=group, text="hi", client_id="b1").status == 404
        assert Message.objects.order_by("-seq").values_list("text", flat=True)[0] == "removed"

    def test_admins_remove_members_but_only_the_owner_removes_admins(self):
        owner, group = a_group()
        ana, bo, cy = make_user(username="ana"), make_user(username="bo"), make_user(username="cy")
        joined(group, owner, ana, bo, cy)
        groups.member_set_role(by=owner, conversation=group, username="ana", role="admin")
        groups.member_set_role(by=owner, conversation=group, username="bo", role="admin")
        assert refused(groups.member_remove, by=ana, conversation=group, username="bo").code == "not_group_admin"
        assert refused(groups.member_remove, by=ana, conversation=group, username="owner").code == "not_group_admin"
        assert refused(groups.member_set_role, by=ana, conversation=group, username="cy", role="admin").code == (
            "not_group_owner"
        )
        groups.member_remove(by=ana, conversation=group, username="cy")
        groups.invite_create(user=ana, conversation=group)  # admins share links too

    def test_the_owner_leaving_hands_the_group_on_and_the_last_closes_it(self):
        owner, group = a_group()
        ana, bo = make_user(username="ana"), make_user(username="bo")
        joined(group, owner, ana, bo)
        groups.member_set_role(by=owner, conversation=group, username="bo", role="admin")
        groups.group_leave(user=owner, conversation=group)
        assert Participant.objects.get(conversation=group, user=bo).role == "owner"  # the admin, before ana
        groups.group_leave(user=bo, conversation=group)
        assert Participant.objects.get(conversation=group, user=ana).role == "owner"
        groups.group_leave(user=ana, conversation=group)
        group.refresh_from_db()
        assert group.state == "closed"
        assert not Invite.objects.filter(conversation=group, revoked_at__isnull=True).exists()

    def test_muted_groups_count_towards_no_badge(self):
        owner, group = a_group()
        ana = make_user(username="ana")
        joined(group, owner, ana)
        services.message_send(sender=owner, conversation=group, text="hi", client_id="o1")
        assert selectors.unread_total(user=ana) == 1
        groups.conversation_mute(user=ana, conversation=group, muted=True)
        assert selectors.unread_total(user=ana) == 0
        assert selectors.conversation_rows(user=ana)[0].unread == 1  # still shown in the list

    def test_the_badge_counts_what_the_chats_rows_count(self, django_assert_num_queries):
        owner, group = a_group()
        ana, bo, cy = make_user(username="ana"), make_user(username="bo"), make_user(username="cy")
        joined(group, owner, ana, bo)  # two "joined" events: never counted

        def badge_equals_rows(person) -> int:
            rows = selectors.conversation_rows(user=person)
            with django_assert_num_queries(1):
                total = selectors.unread_total(user=person)
            assert total == sum(r.unread for r in rows if not r.muted)
            return total

        services.message_send(sender=owner, conversation=group, text="one", client_id="o1")
        services.message_send(sender=bo, conversation=group, text="two", client_id="b1")
        services.conversation_knock(
            sender=bo,
            post=post_create_text(author=ana, channel=make_channel(name="Ana's", host=ana), text="x"),
            text="me too",
            client_id="b2",
        )
        ignored, _sent = services.conversation_knock(
            sender=cy,
            post=post_create_text(author=ana, channel=make_channel(name="Ana's 2", host=ana), text="y"),
            text="hello?",
            client_id="c1",
        )
        services.conversation_ignore(user=ana, conversation=ignored)
        assert badge_equals_rows(ana) == 3  # "one", "two", the knock; not the ignored request
        assert badge_equals_rows(owner) == 1  # "two": not his own "one", not the events
        assert badge_equals_rows(bo) == badge_equals_rows(cy) == 0  # their own words only
        group.refresh_from_db()
        services.conversation_read(
            user=ana, conversation=group, seq=Message.objects.get(conversation=group, text="one").seq
        )
        assert badge_equals_rows(ana) == 2
        groups.conversation_mute(user=ana, conversation=group, muted=True)
        assert badge_equals_rows(ana) == 1
        groups.conversation_mute(user=ana, conversation=group, muted=False)
        services.message_send(sender=ana, conversation=group, text="mine", client_id="a1")  # she has read it all
        assert badge_equals_rows(ana) == 1
        assert badge_equals_rows(owner) == 2

    def test_unread_counts_stop_at_a_hundred_and_read_99_plus(self, client):
        owner, group = a_group()
        ana = make_user(username="ana")
        joined(group, owner, ana)
        group.refresh_from_db()
        first = group.next_seq
        Message.objects.bulk_create(
            Message(conversation=group, seq=first + n, sender=owner, text=f"m{n}", client_id=f"bulk-{n}")
            for n in range(150)
        )
        Conversation.objects.filter(pk=group.pk).update(next_seq=first + 150)
        assert selectors.conversation_rows(user=ana)[0].unread == 100
        assert selectors.unread_total(user=ana) == 100
        client.force_login(ana)
        assert '<span class="badge-count">99+</span>' in client.get("/chats").text
        badge = client.get("/chats/badge").text
        assert ">99+</span>" in badge
        assert "More than 99 unread" in badge
        group.refresh_from_db()
        services.conversation_read(user=ana, conversation=group, seq=first + 140)  # 9 left after her mark
        assert selectors.conversation_rows(user=ana)[0].unread == selectors.unread_total(user=ana) == 9
        assert '<span class="badge-count">9</span>' in client.get("/chats").text

    def test_the_invite_page_never_shows_someone_who_blocked_you(self):
        owner, group = a_group()
        ana, bo = make_user(username="ana"), make_user(username="bo")
        invite = joined(group, owner, ana)
        block_create(blocker=ana, username="bo")
        assert groups.invite_preview_names(invite=invite, viewer=bo) == ["owner"]
        assert groups.invite_preview_names(invite=invite, viewer=make_user()) == ["owner", "ana"]

    def test_accept_and_ignore_are_for_requests_only(self):
        owner, group = a_group()
        assert refused(services.conversation_accept, user=owner, conversation=group).code == "not_a_request"


@pytest.mark.django_db
class TestChannelGroup:
    def test_the_host_opens_it_once_and_members_join_it(self):
        host = make_user(username="host")
        channel = make_channel(name="Rainy days", host=host)
        member, stranger = make_user(username="member"), make_user(username="stranger")
        channel_join(user=member, channel=channel)
        assert refused(groups.channel_group_join, user=member, channel=channel).status == 404  # not opened yet
        assert refused(groups.channel_group_open, host=member, channel=channel).code == "not_host"
        group = groups.channel_group_open(host=host, channel=channel)
        assert (group.title, group.channel_id) == ("Rainy days", channel.pk)
        assert groups.channel_group_open(host=host, channel=channel).pk == group.pk
        assert groups.channel_group_join(user=member, channel=channel).pk == group.pk
        assert refused(groups.channel_group_join, user=stranger, channel=channel).code == "not_member"


def token(client, username):
    issued = client.post(
        "/api/v1/auth/token", json.dumps({"login": username, "password": PASSWORD}), content_type="application/json"
    )
    return {"Authorization": "Bearer " + issued.json()["token"]}


@pytest.mark.django_db
class TestGroupApi:
    def test_create_invite_join_and_manage(self, client):
        make_user(username="owner"), make_user(username="ana")
        owner_h, ana_h = token(client, "owner"), token(client, "ana")
        made = client.post(
            "/api/v1/conversations",
            json.dumps({"kind": "group", "title": "Night owls"}),
            content_type="application/json",
            headers=owner_h,
        )
        assert made.status_code == 201
        group = made.json()
        assert (group["kind"], group["state"], group["title"]) == ("group", "active", "Night owls")
        assert group["members"] == [{"username": "owner", "role": "owner"}]
        base = f"/api/v1/conversations/{group['id']}"
        invite = client.post(
            base + "/invites", json.dumps({"days": 1}), content_type="application/json", headers=owner_h
        )
        assert invite.status_code == 201
        code = invite.json()["code"]
        assert invite.json()["url"] == f"http://testserver/join/{code}"
        preview = client.get(f"/api/v1/invites/{code}", headers=ana_h).json()
        assert (preview["title"], preview["member_count"], preview["members"]) == ("Night owls", 1, ["owner"])
        assert client.get(base + "/messages", headers=ana_h).status_code == 404  # not in yet
        joined_now = client.post(f"/api/v1/invites/{code}/join", headers=ana_h)
        assert joined_now.status_code == 200
        assert [m["username"] for m in joined_now.json()["members"]] == ["owner", "ana"]
        refused_invite = client.post(base + "/invites", json.dumps({}), content_type="application/json", headers=ana_h)
        assert (refused_invite.status_code, refused_invite.json()["code"]) == (403, "not_group_admin")
        muted = client.post(base + "/mute", json.dumps({"muted": True}), content_type="application/json", headers=ana_h)
        assert muted.json()["muted"] is True
        assert client.delete(f"{base}/invites/{code}", headers=owner_h).status_code == 204
        dead = client.post(f"/api/v1/invites/{code}/join", headers=token(client, make_user().username))
        assert (dead.status_code, dead.json()["code"]) == (410, "invite_revoked")
        assert client.delete(f"{base}/members/ana", headers=owner_h).status_code == 204
        assert client.get(base + "/messages", headers=ana_h).status_code == 404
        assert client.post(base + "/leave", headers=owner_h).status_code == 204

    def test_a_title_is_required(self, client):
        make_user(username="owner")
        refused_group = client.post(
            "/api/v1/conversations",
            json.dumps({"kind": "group"}),
            content_type="application/json",
            headers=token(client, "owner"),
        )
        assert (refused_group.status_code, list(refused_group.json()["fields"])) == (400, ["title"])


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_a_removed_member_hears_nothing_more_and_is_told():
    owner = await database_sync_to_async(make_user)(username="owner")
    ana = await database_sync_to_async(make_user)(username="ana")
    _owner, group = await database_sync_to_async(a_group)(owner)
    await database_sync_to_async(joined)(group, owner, ana)
    socket = await _connect_as(ana)
    await database_sync_to_async(services.message_send)(sender=owner, conversation=group, text="one", client_id="o1")
    assert (await socket.receive_json_from())["message"]["text"] == "one"
    await database_sync_to_async(groups.member_remove)(by=owner, conversation=group, username="ana")
    told = await socket.receive_json_from()
    assert (told["type"], told["conversation_id"]) == ("conversation.removed", group.public_id)
    await database_sync_to_async(services.message_send)(sender=owner, conversation=group, text="two", client_id="o2")
    assert await socket.receive_nothing(timeout=0.3)
    await socket.send_json_to({"type": "resume", "conversation_id": group.public_id, "after": 0})
    assert (await socket.receive_json_from())["code"] == "not_found"
    await socket.send_json_to({"type": "typing", "conversation_id": group.public_id})
    assert (await socket.receive_json_from())["code"] == "not_found"
    await socket.disconnect()


@pytest.mark.django_db
class TestPages:
    def test_history_scrolls_back_fifty_at_a_time(self, client, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (999, 60), "message_new_account": (999, 60)}
        owner, group = a_group()
        for i in range(120):
            services.message_send(sender=owner, conversation=group, text=f"note {i}", client_id=f"n{i}")
        client.force_login(owner)
        page = client.get(f"/chats/{group.public_id}").content.decode()
        assert "note 119" in page
        assert "note 69" not in page
        assert f"/chats/{group.public_id}/older?before=72" in page  # seq 72 is "note 70", the oldest shown
        older = client.get(f"/chats/{group.public_id}/older", {"before": 72}).content.decode()
        assert "note 69" in older
        assert "note 20" in older
        assert "note 19" not in older
        assert "note 70" not in older
        api = client.get(f"/api/v1/conversations/{group.public_id}/messages", {"before": 22}).json()
        assert [m["seq"] for m in api["items"]] == list(range(1, 22))
        assert api["next"] is None

    def test_a_dead_invite_link_says_why(self, client):
        owner, group = a_group()
        invite = groups.invite_create(user=owner, conversation=group)
        groups.invite_revoke(user=owner, conversation=group, code=invite.code)
        client.force_login(make_user())
        page = client.get(f"/join/{invite.code}")
        assert page.status_code == 410
        assert "This invite link was turned off by the group." in page.content.decode()

    def test_the_channel_page_offers_its_group_chat(self, client):
        host, member = make_user(username="host"), make_user(username="member")
        channel = make_channel(name="Rainy days", host=host)
        channel_join(user=member, channel=channel)
        button = f"/c/{channel.public_id}/group-chat/button"
        client.force_login(member)
        assert "group chat" not in client.get(button).content.decode()  # none yet: nothing to offer
        client.force_login(host)
        assert "Start a group chat for this channel" in client.get(button).content.decode()
        opened = client.post(f"/c/{channel.public_id}/group-chat")
        group = groups.channel_group(channel=channel)
        assert group is not None
        assert opened.url == f"/chats/{group.public_id}"
        client.force_login(member)
        assert "Join the channel's group chat" in client.get(button).content.decode()
        assert client.post(f"/c/{channel.public_id}/group-chat").url == f"/chats/{group.public_id}"
        assert "Open the channel's group chat" in client.get(button).content.decode()


@pytest.mark.django_db
class TestNewAccounts:
    def test_a_day_old_account_may_send_fewer_messages_a_minute(self, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (6, 60), "message_new_account": (3, 60)}
        veteran = make_user(username="veteran", date_joined=timezone.now() - timedelta(days=30))
        _owner, group = a_group(owner=veteran)
        newcomer = make_user(username="newcomer")
        joined(group, veteran, newcomer)
        for i in range(3):
            services.message_send(sender=newcomer, conversation=group, text="hi", client_id=f"n{i}")
        assert refused(services.message_send, sender=newcomer, conversation=group, text="hi", client_id="n3").code == (
            "rate_limited"
        )
        for i in range(6):
            services.message_send(sender=veteran, conversation=group, text="hi", client_id=f"v{i}")
        assert refused(services.message_send, sender=veteran, conversation=group, text="hi", client_id="v6").code == (
            "rate_limited"
        )

    def test_a_new_account_may_knock_five_times_an_hour(self):
        knocker = make_user(username="knocker")
        for i in range(5):
            author = make_user()
            post = post_create_text(author=author, channel=make_channel(host=author), text="hello")
            services.conversation_knock(sender=knocker, post=post, text="me too", client_id=f"k{i}")
        author = make_user()
        post = post_create_text(author=author, channel=make_channel(host=author), text="hello")
        error = refused(services.conversation_knock, sender=knocker, post=post, text="me too", client_id="k5")
        assert (error.code, error.status) == ("rate_limited", 429)


@pytest.mark.django_db
def test_blocking_from_a_post_stops_their_knocks(client):
    author, reader = make_user(username="author"), make_user(username="reader")
    channel = make_channel(name="Quiet hours", host=author)
    channel_join(user=reader, channel=channel)
    theirs = post_create_text(author=reader, channel=channel, text="hello")
    mine = post_create_text(author=author, channel=channel, text="my post")
    client.force_login(author)
    assert "Block reader" in client.get(f"/p/{theirs.public_id}").content.decode()
    assert client.post(f"/p/{theirs.public_id}/block").status_code == 302
    error = refused(services.conversation_knock, sender=reader, post=mine, text="hi", client_id="k")
    assert (error.code, error.status) == ("blocked", 403)


@pytest.mark.django_db
def test_limited_endpoints_say_what_is_left(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "group_create_account": (2, 3600)}
    make_user(username="owner")
    headers = token(client, "owner")
    answers = [
        client.post(
            "/api/v1/conversations",
            json.dumps({"kind": "group", "title": f"g{i}"}),
            content_type="application/json",
            headers=headers,
        )
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert [a["RateLimit-Remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[0]["RateLimit-Limit"] == "2"
    assert 0 < int(answers[2]["Retry-After"]) <= 3600
    assert "RateLimit-Limit" not in client.get("/api/v1/conversations", headers=headers)  # nothing counted


@pytest.mark.django_db
def test_the_conversation_list_comes_a_page_at_a_time(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "group_create_account": (999, 3600)}
    owner = make_user(username="owner")
    for i in range(53):
        groups.group_create(owner=owner, title=f"group {i}")
    headers = token(client, "owner")
    first = client.get("/api/v1/conversations", headers=headers).json()
    assert len(first["items"]) == 50
    assert first["items"][0]["title"] == "group 52"  # newest activity first
    rest = client.get("/api/v1/conversations", {"cursor": first["next"]}, headers=headers).json()
    assert [c["title"] for c in rest["items"]] == ["group 2", "group 1", "group 0"]
    assert rest["next"] is None
    bad = client.get("/api/v1/conversations", {"cursor": "nonsense"}, headers=headers)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


@pytest.mark.django_db
def test_listing_conversations_costs_the_same_for_3_or_12(client, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "group_create_account": (999, 3600)}
    owner = make_user(username="owner")
    headers = token(client, "owner")
    client.get("/api/v1/me", headers=headers)  # the token's first use writes last_used_at: not part of the list
    counts = []
    for total in (3, 12):
        while Participant.objects.filter(user=owner).count() < total:
            group = groups.group_create(owner=owner, title="g")
            joined(group, owner, make_user())
        with CaptureQueriesContext(connection) as captured:
            assert len(client.get("/api/v1/conversations", headers=headers).json()["items"]) == total
        counts.append(len(captured))
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_the_list_shows_a_group_s_first_twenty_members_and_counts_them_all(client):
    """GET /conversations carries the first 20 members of a group (joining order) and member_count; the
    conversation's own GET lists everyone. `muted` is the viewer's own, even when they joined too late to be
    among the 20 shown."""
    owner, group = a_group()
    people = [make_user(username=f"p{i:02}") for i in range(24)]
    joined(group, owner, *people)
    last = people[-1]
    groups.conversation_mute(user=last, conversation=group, muted=True)
    headers = token(client, last.username)
    listed = client.get("/api/v1/conversations", headers=headers).json()["items"][0]
    assert listed["member_count"] == 25
    assert [m["username"] for m in listed["members"]] == ["owner"] + [f"p{i:02}" for i in range(19)]
    assert listed["muted"] is True
    whole = client.get(f"/api/v1/conversations/{group.public_id}", headers=headers).json()
    assert (whole["member_count"], len(whole["members"])) == (25, 25)
    assert whole["members"][-1] == {"username": last.username, "role": "member"}
    assert whole["muted"] is True
    # Someone in the first 20 who didn't mute it sees it unmuted.
    assert client.get("/api/v1/conversations", headers=token(client, "p00")).json()["items"][0]["muted"] is False


@pytest.mark.django_db
def test_others_read_up_to_is_the_lowest_read_mark_of_the_others():
    owner, group = a_group()
    ana, bo = make_user(username="ana"), make_user(username="bo")
    joined(group, owner, ana, bo)
    for n in range(4):
        services.message_send(sender=owner, conversation=group, text=f"m{n}", client_id=f"o{n}")
    group.refresh_from_db()
    top = group.next_seq - 1
    services.conversation_read(user=ana, conversation=group, seq=top)
    services.conversation_read(user=bo, conversation=group, seq=top - 2)
    assert selectors.others_read_up_to(conversation=group, user=owner) == top - 2  # bo is behind
    assert selectors.others_read_up_to(conversation=group, user=ana) == top - 2
    assert selectors.others_read_up_to(conversation=group, user=bo) == top  # the sender has read their own
    services.conversation_read(user=bo, conversation=group, seq=top)
    assert selectors.others_read_up_to(conversation=group, user=owner) == top
    alone_owner, alone = a_group(owner=make_user(username="solo"), title="Alone")
    assert selectors.others_read_up_to(conversation=alone, user=alone_owner) == 0  # nobody else: nothing read
