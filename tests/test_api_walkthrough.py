"""The whole product through the API, as a native app would use it: register, verify by a real email, get a
token, make and join channels, post every kind, press same, vote, punch in, knock, chat over the WebSocket
with a resume, make a sticker and send it, run a channel and its punch clock, make a group and join it by
invite, see a house ad, get and dismiss recommendations, report, block, export, delete the account."""

import json
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone

from accounts.models import User
from ads import services as ads_services
from same.asgi import application
from tests.samples import png, song

HOST = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]
PASSWORD = "a long and unusual passphrase 42"


class App:
    """One phone: a bearer token and JSON in, JSON out."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.token = ""

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def call(self, method: str, path: str, body: Any = None, *, expect: int = 200, files: bool = False) -> Any:
        url = f"/api/v1{path}"
        send = getattr(self.client, method)
        if files:
            response = send(url, body, headers=self._headers())
        elif body is not None:
            response = send(url, json.dumps(body), content_type="application/json", headers=self._headers())
        else:
            response = send(url, headers=self._headers())
        assert response.status_code == expect, (method, path, response.status_code, response.content[:300])
        return response.json() if response.content and response["Content-Type"].startswith("application/json") else None


def sign_up(app: App, smtp_server, username: str) -> None:
    address = f"{username}@example.org"
    app.call("post", "/auth/register", {"email": address, "username": username, "password": PASSWORD}, expect=201)
    [mail] = smtp_server.wait_for(address)
    verify_token = mail.link("/verify/").rsplit("/", 1)[-1]
    app.call("post", "/auth/verify", {"token": verify_token})
    app.token = app.call("post", "/auth/token", {"login": username, "password": PASSWORD, "name": "phone"})["token"]
    assert app.call("get", "/me")["username"] == username


@pytest.mark.django_db(transaction=True)
def test_a_native_app_walks_the_whole_product(smtp_server, immediate_tasks, media_root_for_walkthrough, settings):
    settings.ADS_ENABLED, settings.ADS_EVERY_N_VIEWS = True, 1
    ads_services.campaign_create(
        name="Swap",
        text="Swap books on Saturday",
        link_url="https://example.org/swap",
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    owl, lark = App(Client()), App(Client())
    sign_up(owl, smtp_server, "owl")
    sign_up(lark, smtp_server, "lark")
    assert User.objects.get(username="owl").email_verified

    # Channels of every kind; the other person joins them.
    channels = {}
    for kind, category in [
        ("text", "life"),
        ("image", "life"),
        ("music", "music"),
        ("movie", "film"),
        ("vote", "life"),
        ("punch", "life"),
    ]:
        made = owl.call("post", "/channels", {"name": f"Owl {kind}", "kind": kind, "category": category}, expect=201)
        channels[kind] = made["id"]
        lark.call("post", f"/channels/{made['id']}/join", expect=204)
    found = lark.call("get", "/channels", None)["items"]
    assert {c["id"] for c in found} >= set(channels.values())

    # A post of each kind.
    text = owl.call("post", f"/channels/{channels['text']}/posts", {"text": "3 a.m. again"}, expect=201)
    owl.call(
        "post", f"/channels/{channels['image']}/posts", {"images": png(), "text": "the view"}, expect=201, files=True
    )
    owl.call(
        "post",
        f"/channels/{channels['music']}/posts",
        {"title": "Night song", "artist": "Owl", "audio": song()},
        expect=201,
        files=True,
    )
    owl.call("post", f"/channels/{channels['movie']}/posts", {"title": "Lost in Translation", "rating": 5}, expect=201)
    poll = owl.call(
        "post",
        f"/channels/{channels['vote']}/posts",
        {"question": "Tea or milk?", "options": ["tea", "milk"]},
        expect=201,
    )

    # Same, a vote, a punch.
    assert lark.call("post", f"/posts/{text['id']}/same")["same_count"] == 1
    voted = lark.call("post", f"/posts/{poll['id']}/vote", {"option_ids": [poll["poll"]["options"][0]["id"]]})
    assert voted["poll"]["options"][0]["votes"] == 1
    punched = lark.call("post", f"/channels/{channels['punch']}/punch", {"note": "up!"}, expect=201)
    assert punched["rank"] == 1
    assert [p["username"] for p in lark.call("get", f"/channels/{channels['punch']}/punches")["items"]] == ["lark"]
    assert any(p["id"] == text["id"] for p in lark.call("get", "/feed")["items"])

    # A knock, accepted; a conversation over the WebSocket that survives a drop.
    conversation = lark.call(
        "post", "/conversations", {"post_id": text["id"], "text": "me too", "client_id": "l1"}, expect=201
    )
    cid = conversation["id"]
    owl.call("post", f"/conversations/{cid}/accept")
    async_to_sync(chat_with_a_drop)(owl, lark, cid)

    # A sticker, sent in the chat, saved by the other.
    sticker = lark.call("post", "/stickers", {"image": png((200, 200)), "caption": "same!"}, expect=202, files=True)
    sent = lark.call(
        "post", f"/conversations/{cid}/messages", {"sticker_id": sticker["id"], "client_id": "s1"}, expect=201
    )
    assert sent["sticker"]["caption"] == "same!"
    owl.call("post", f"/stickers/{sticker['id']}/save", expect=201)
    assert [s["id"] for s in owl.call("get", "/stickers")["items"]] == [sticker["id"]]

    # The host's side: the channel's settings, the punch clock and playlist; the puncher's records.
    owl.call("patch", f"/channels/{channels['punch']}", {"rule": "Up before six."})
    clock = owl.call("put", f"/channels/{channels['punch']}/clock", {"window_start": "04:00", "window_end": "09:00"})
    assert clock["window_end"] == "09:00:00"
    music_post = owl.call("get", f"/channels/{channels['music']}/posts")["items"][0]
    owl.call("put", f"/channels/{channels['punch']}/playlist/{music_post['id']}", expect=204)
    assert [s["title"] for s in lark.call("get", f"/channels/{channels['punch']}/clock")["playlist"]] == ["Night song"]
    assert lark.call("get", f"/channels/{channels['punch']}/records")["my_punch"]["note"] == "up!"

    # A group with an invite link, renamed; a house ad shown, tapped and dismissed; recommendations.
    group = owl.call("post", "/conversations", {"kind": "group", "title": "Night owls"}, expect=201)
    invite = owl.call("post", f"/conversations/{group['id']}/invites", {"days": 1}, expect=201)
    lark.call("post", f"/invites/{invite['code']}/join")
    assert owl.call("patch", f"/conversations/{group['id']}", {"title": "Owls & larks"})["title"] == "Owls & larks"
    ad = lark.call("get", "/ads/slot?where=home")["ad"]
    assert ad["text"] == "Swap books on Saturday"
    assert lark.call("post", f"/ads/{ad['id']}/click")["url"] == "https://example.org/swap"
    assert lark.call("post", "/ads/dismiss", {"ad_id": ad["id"]})["hidden_until"]
    other = owl.call("post", "/channels", {"name": "Owl knits", "kind": "text", "category": "art"}, expect=201)
    picks = lark.call("get", "/recommendations/channels")["items"]
    assert other["id"] in {p["channel"]["id"] for p in picks}
    lark.call("post", "/recommendations/not-interested", {"channel_id": other["id"]}, expect=204)
    assert other["id"] not in {p["channel"]["id"] for p in lark.call("get", "/recommendations/channels")["items"]}

    # A report, a block, and the apps signed in.
    lark.call("post", "/reports", {"target_kind": "channel", "target_id": other["id"], "reason": "spam"}, expect=201)
    lark.call("post", "/blocks", {"username": "owl"}, expect=201)
    assert [b["username"] for b in lark.call("get", "/blocks")["items"]] == ["owl"]
    assert [t["name"] for t in lark.call("get", "/me/tokens")["items"]] == ["phone"]

    # Export, then delete; the token dies with the account.
    exported = lark.call("get", "/me/export")
    assert exported["account"]["username"] == "lark"
    assert "owl@example.org" not in json.dumps(exported)
    lark.client.delete(
        "/api/v1/me",
        json.dumps({"password": PASSWORD}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {lark.token}"},
    )
    assert not User.objects.filter(username="lark").exists()
    lark.call("get", "/me", expect=401)


async def chat_with_a_drop(owl: App, lark: App, cid: str) -> None:
    socket = await connect(owl.token)
    await sync_to_async(lark.call)(
        "post", f"/conversations/{cid}/messages", {"text": "hello", "client_id": "l2"}, expect=201
    )
    live = await socket.receive_json_from()
    assert (live["type"], live["message"]["text"], live["seq"]) == ("message.new", "hello", 2)
    await socket.disconnect()  # the network drops
    for n in (3, 4):
        await sync_to_async(lark.call)(
            "post", f"/conversations/{cid}/messages", {"text": f"message {n}", "client_id": f"l{n}"}, expect=201
        )
    again = await connect(owl.token)
    await again.send_json_to({"type": "resume", "conversation_id": cid, "after": 2})
    missed = [await again.receive_json_from() for _ in range(2)]
    assert [(e["seq"], e["message"]["text"]) for e in missed] == [(3, "message 3"), (4, "message 4")]
    done = await again.receive_json_from()
    assert (done["type"], done["last_seq"], done["more"]) == ("resume.done", 4, False)
    assert await again.receive_nothing(timeout=0.2)
    await again.disconnect()


async def connect(token: str) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(application, "/ws/", headers=HOST)
    connected, _ = await socket.connect()
    assert connected
    await socket.send_json_to({"type": "auth", "token": token})
    assert (await socket.receive_json_from())["type"] == "auth.ok"
    return socket


@pytest.fixture
def media_root_for_walkthrough(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
