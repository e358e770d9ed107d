"""What the web's pages offer that the API also had to: a channel's settings and hand-over, a
group's name, punch records, the clock and the playlist; and the lists that grow, page by page."""

import json

import pytest

from accounts.models import AccessToken
from chat import groups
from interests.services import channel_join
from moderation.blocks import blocked_usernames
from moderation.models import ModerationLogEntry
from posts.songs import post_create_song
from punches import selectors as punch_selectors
from punches import services as punch_services
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


def bearer_for(client, username):
    token = client.post(
        API + "/auth/token", json.dumps({"login": username, "password": PASSWORD}), content_type="application/json"
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def send(client, method, path, headers, body=None):
    return getattr(client, method)(API + path, json.dumps(body or {}), content_type="application/json", headers=headers)


def walk(client, path, headers, **params):
    """Every item of a paginated list, and how many pages it took."""
    items, cursor, pages = [], None, 0
    while True:
        answer = client.get(API + path, {**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert answer.status_code == 200, answer.content
        body = answer.json()
        items += body["items"]
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return items, pages


class TestChannelSettings:
    def test_the_host_edits_and_hands_over_and_nobody_else_can(self, client):
        host, member = make_user(username="host"), make_user(username="member")
        channel = make_channel(host=host, name="Insomnia", description="old", rule="be kind")
        channel_join(user=member, channel=channel)
        mine, theirs = bearer_for(client, "host"), bearer_for(client, "member")
        path = f"/channels/{channel.public_id}"

        changed = send(client, "patch", path, mine, {"description": "Awake at 3 a.m."})
        assert changed.status_code == 200
        assert (changed.json()["description"], changed.json()["rule"]) == ("Awake at 3 a.m.", "be kind")
        refused = send(client, "patch", path, theirs, {"rule": "mine now"})
        assert (refused.status_code, refused.json()["code"]) == (403, "not_host")
        too_long = send(client, "patch", path, mine, {"rule": "x" * 5000})
        assert (too_long.status_code, list(too_long.json()["fields"])) == (400, ["rule"])

        nobody = send(client, "post", path + "/transfer", mine, {"username": "stranger"})
        assert nobody.status_code == 404
        handed = send(client, "post", path + "/transfer", mine, {"username": "member"})
        assert (handed.status_code, handed.json()["host"]) == (200, "member")
        assert ModerationLogEntry.objects.filter(channel=channel, action="transfer_channel").count() == 1
        again = send(client, "post", path + "/transfer", mine, {"username": "member"})
        assert (again.status_code, again.json()["code"]) == (403, "not_host")


class TestGroupName:
    def test_an_admin_renames_a_member_cannot(self, client):
        owner, member = make_user(username="owner"), make_user(username="member")
        group = groups.group_create(owner=owner, title="Early birds")
        invite = groups.invite_create(user=owner, conversation=group, days=1)
        groups.group_join_by_invite(user=member, code=invite.code)
        path = f"/conversations/{group.public_id}"
        renamed = send(client, "patch", path, bearer_for(client, "owner"), {"title": "Night owls"})
        assert (renamed.status_code, renamed.json()["title"]) == (200, "Night owls")
        refused = send(client, "patch", path, bearer_for(client, "member"), {"title": "Mine"})
        assert refused.status_code == 403
        group.refresh_from_db()
        assert group.title == "Night owls"


class TestPunchPages:
    @pytest.fixture
    def punch_channel(self):
        host = make_user(username="host", timezone="UTC")
        return make_channel(host=host, name="Early risers", kind="punch", category="life")

    def test_records_clock_and_playlist(self, client, punch_channel, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        member = make_user(username="member", timezone="UTC")
        channel_join(user=member, channel=punch_channel)
        punch_services.punch_in(user=member, channel=punch_channel, note="up")
        theirs, mine = bearer_for(client, "member"), bearer_for(client, "host")
        base = f"/channels/{punch_channel.public_id}"

        records = client.get(API + base + "/records", headers=theirs).json()
        assert records["my_punch"]["note"] == "up"
        assert len(records["history"]) == 30
        assert records["history"][-1]["local_time"] is not None
        assert len(records["hours"]) == 24
        assert sum(records["hours"]) == 1
        assert records["week"] is None  # the host's alone
        assert len(client.get(API + base + "/records", headers=mine).json()["week"]) == 7
        text = make_channel(name="Talk")
        assert client.get(API + f"/channels/{text.public_id}/records", headers=mine).status_code == 404

        set_clock = send(
            client, "put", base + "/clock", mine, {"window_start": "05:00", "window_end": "09:00", "prompt": "Up?"}
        )
        assert set_clock.status_code == 200
        assert (set_clock.json()["window_start"], set_clock.json()["prompt"]) == ("05:00:00", "Up?")
        half = send(client, "put", base + "/clock", mine, {"window_start": "05:00"})
        assert (half.status_code, list(half.json()["fields"])) == (400, ["window_end"])
        assert send(client, "put", base + "/clock", theirs, {"prompt": "x"}).status_code == 403
        # A time with a UTC offset is no time of a person's own day: refused by name, the clock as it was (a 500
        # on SQLite, which stores no offset, before; the stateful API walk found it).
        offset = send(client, "put", base + "/clock", mine, {"window_start": "05:00+01:00", "window_end": "09:00"})
        assert (offset.status_code, offset.json()["code"], list(offset.json()["fields"])) == (
            400,
            "invalid",
            ["window_start"],
        )
        assert client.get(API + base + "/clock", headers=mine).json()["window_start"] == "05:00:00"

        musician = make_user()
        music = make_channel(host=musician, name="Tunes", kind="music", category="music")
        tune = post_create_song(author=musician, channel=music, title="Morning", artist="Lark", audio=None)
        assert client.put(API + f"{base}/playlist/{tune.public_id}", headers=mine).status_code == 204
        assert client.put(API + f"{base}/playlist/{tune.public_id}", headers=theirs).status_code == 403
        assert client.get(API + base + "/clock", headers=theirs).json()["playlist"] == [
            {"post_id": tune.public_id, "title": "Morning", "artist": "Lark"}
        ]
        assert [e.song_post_id for e in punch_selectors.playlist(channel=punch_channel)] == [tune.pk]
        assert client.delete(API + f"{base}/playlist/{tune.public_id}", headers=mine).status_code == 204
        assert client.get(API + base + "/clock", headers=theirs).json()["playlist"] == []

    def test_the_board_comes_a_page_at_a_time(self, client, punch_channel, monkeypatch):
        people = [make_user(username=f"p{i}", timezone="UTC") for i in range(5)]
        for person in people:
            channel_join(user=person, channel=punch_channel)
            punch_services.punch_in(user=person, channel=punch_channel)
        original = punch_selectors.board_page
        monkeypatch.setattr(punch_selectors, "board_page", lambda **kw: original(**{**kw, "size": 2}))
        rows, pages = walk(client, f"/channels/{punch_channel.public_id}/punches", bearer_for(client, "p0"))
        assert ([r["username"] for r in rows], pages) == ([f"p{i}" for i in range(5)], 3)


class TestGrowingLists:
    def test_blocks_and_signed_in_apps_are_paginated(self, client, monkeypatch):
        from accounts import selectors as account_selectors
        from moderation import blocks

        me = make_user(username="me")
        headers = bearer_for(client, "me")
        for i in range(4):
            make_user(username=f"b{i}")
            assert send(client, "post", "/blocks", headers, {"username": f"b{i}"}).status_code == 201
            bearer_for(client, "me")  # another app signs in
        original_blocks, original_tokens = blocks.blocked_page, account_selectors.user_tokens_page
        monkeypatch.setattr("api.routers.chat.blocked_page", lambda **kw: original_blocks(**kw, size=3))
        monkeypatch.setattr("api.routers.accounts.user_tokens_page", lambda **kw: original_tokens(**kw, size=3))
        blocked, pages = walk(client, "/blocks", headers)
        assert ([b["username"] for b in blocked], pages) == (blocked_usernames(user=me), 2)
        assert len(blocked) == 4
        apps, pages = walk(client, "/me/tokens", headers)
        assert (len(apps), pages) == (AccessToken.objects.filter(user=me).count(), 2)
        assert len({a["id"] for a in apps}) == 5
        spoiled = client.get(API + "/blocks", {"cursor": "x"}, headers=headers)
        assert (spoiled.status_code, spoiled.json()["code"]) == (400, "invalid_cursor")

    def test_a_groups_open_invites_are_paginated(self, client, monkeypatch):
        owner = make_user(username="owner")
        group = groups.group_create(owner=owner, title="Early birds")
        made = [groups.invite_create(user=owner, conversation=group, days=7).code for _ in range(5)]
        groups.invite_revoke(user=owner, conversation=group, code=made[0])
        original = groups.open_invites_page
        monkeypatch.setattr(groups, "open_invites_page", lambda **kw: original(**kw, size=2))
        listed, pages = walk(client, f"/conversations/{group.public_id}/invites", bearer_for(client, "owner"))
        assert (sorted(i["code"] for i in listed), pages) == (sorted(made[1:]), 2)

    def test_a_channels_moderation_log_is_paginated_for_its_host_alone(self, client, monkeypatch):
        from moderation import selectors as moderation_selectors
        from moderation.log import log_action
        from moderation.models import ModerationAction

        host = make_user(username="host")
        make_user(username="member")
        channel = make_channel(host=host, name="Insomnia")
        for i in range(5):
            log_action(actor=host, action=ModerationAction.TRANSFER_CHANNEL, channel=channel, summary=f"entry {i}")
        original = moderation_selectors.channel_log_page
        monkeypatch.setattr(moderation_selectors, "channel_log_page", lambda **kw: original(**kw, size=2))
        headers, summaries, cursor, pages = bearer_for(client, "host"), [], None, 0
        while True:
            answer = client.get(
                API + f"/channels/{channel.public_id}/moderation", {"cursor": cursor} if cursor else {}, headers=headers
            ).json()
            summaries += [entry["summary"] for entry in answer["log"]]
            pages += 1
            cursor = answer["log_next"]
            if cursor is None:
                break
        assert (summaries, pages) == ([f"entry {i}" for i in reversed(range(5))], 3)
        refused = client.get(API + f"/channels/{channel.public_id}/moderation", headers=bearer_for(client, "member"))
        assert refused.status_code == 403


class TestChatBadge:
    def test_the_unread_count_of_the_chats_tab(self, client):
        from chat.services import conversation_knock
        from posts.services import post_create_text

        author, knocker = make_user(username="author"), make_user(username="knocker")
        post = post_create_text(author=author, channel=make_channel(host=author), text="3 a.m.")
        conversation_knock(sender=knocker, post=post, text="me too", client_id="k1")
        assert client.get(API + "/conversations/unread", headers=bearer_for(client, "author")).json() == {"unread": 1}
        assert client.get(API + "/conversations/unread", headers=bearer_for(client, "knocker")).json() == {"unread": 0}
        assert client.get(API + "/conversations/unread").status_code == 401
