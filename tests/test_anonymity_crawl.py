"""An anonymity crawl: signed in as one person, read every page, API list and WebSocket event where other people's
content appears, and find none of their private facts — email (current or pending), the real name hidden in it,
a database key, the address they came from, their time zone, language or suspension reason.

The others are seeded to be findable: distinctive emails, an address from a documentation range, and every
table's ids moved to 7,340,000 and above, so a key in a page is a number no count or date would make."""

import json
import re

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.apps import apps
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.db.models import AutoField, BigAutoField, SmallAutoField
from django.test import Client
from django.utils import timezone

from accounts.models import User
from chat import services as chat_services
from chat.attachments import message_send_sticker
from chat.groups import group_create, group_join_by_invite, invite_create
from chat.models import Conversation
from interests.services import channel_join
from moderation.operators import account_suspend
from posts.models import Post
from posts.polls import poll_vote, post_create_poll
from posts.services import post_create_text, same_add
from punches.services import punch_in
from same.asgi import application
from stickers.services import sticker_create
from tests.factories import PASSWORD, make_channel, make_user
from tests.samples import png, voice_webm

KEY_BASE = 7_340_000
KEY = re.compile(r"(?<![\w-])73[4-9]\d{4}(?![\w-])")
THEIR_ADDRESS = "198.51.100.231"
SECRETS = {
    "juniper's email": "juniper.kowalczyk@leak-a.example",
    "ravel's email": "ravel.okonkwo@leak-b.example",
    "juniper's pending email": "juniper.next@leak-c.example",
    "a real name (in an email)": "kowalczyk",
    "another real name": "okonkwo",
    "an email domain": "leak-",
    "their address": THEIR_ADDRESS,
    "juniper's time zone": "Pacific/Chatham",
    "ravel's time zone": "Asia/Kathmandu",
    "ravel's suspension reason": "shouting at the owls",
}


def move_keys_out_of_the_way() -> None:
    """Make every table's next id 7,340,000 + 1,000 × its place: a leaked key is then easy to see."""
    auto = (AutoField, BigAutoField, SmallAutoField)
    models = [m for m in apps.get_models() if isinstance(m._meta.pk, auto) and not m._meta.proxy]
    with connection.cursor() as cursor:
        for place, model in enumerate(models):
            table, start = model._meta.db_table, KEY_BASE + place * 1000
            if connection.vendor == "sqlite":
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start])
            else:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s)", [table, model._meta.pk.column, start]
                )


def api(client: Client, method: str, path: str, body: dict | None = None, **headers: str):
    return client.generic(
        method,
        "/api/v1" + path,
        json.dumps(body or {}),
        content_type="application/json",
        REMOTE_ADDR=THEIR_ADDRESS,
        headers=headers,
    )


def seed() -> dict:
    """Two other people, all over the reader's screens."""
    move_keys_out_of_the_way()
    reader = make_user(username="reader", email="reader@home.example")
    juniper = make_user(
        username="juniper",
        email=SECRETS["juniper's email"],
        timezone="Pacific/Chatham",
        language="zh-hans",
        pending_email=SECRETS["juniper's pending email"],
    )
    ravel = make_user(username="ravel", email=SECRETS["ravel's email"], timezone="Asia/Kathmandu")
    assert reader.pk >= KEY_BASE  # the keys really moved
    moon = make_channel(host=juniper, name="Moon gazers", description="Looking up")
    sky = make_channel(host=juniper, name="Tonight's sky", kind="vote")
    dawn = make_channel(host=juniper, name="Up at dawn", kind="punch")
    for channel in (moon, sky, dawn):
        channel_join(user=reader, channel=channel)
        channel_join(user=ravel, channel=channel)
    mine = post_create_text(author=reader, channel=moon, text="The moon was orange tonight")
    juniper_post = post_create_text(author=juniper, channel=moon, text="Juniper saw a comet")
    poll = post_create_poll(author=juniper, channel=sky, question="Clouds?", options=["yes", "no"])
    yes, no = poll.poll.options.order_by("position").values_list("public_id", flat=True)
    poll_vote(user=ravel, post=poll, option_ids=[yes])
    poll_vote(user=reader, post=poll, option_ids=[no])
    for person in (juniper, ravel, reader):
        punch_in(user=person, channel=dawn, note="up")
    same_add(user=juniper, post=mine)
    same_add(user=ravel, post=mine)  # the author sees who felt the same: by username only
    same_add(user=reader, post=juniper_post)

    # ravel acts through the API, from an address that must never be shown.
    ravel_client = Client()
    token = api(ravel_client, "POST", "/auth/token", {"login": "ravel", "password": PASSWORD}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}
    ravel_post = api(ravel_client, "POST", f"/channels/{moon.public_id}/posts", {"text": "Ravel hears owls"}, **bearer)
    assert ravel_post.status_code == 201
    knock = {"post_id": mine.public_id, "text": "Ravel felt that too", "client_id": "k1"}
    assert api(ravel_client, "POST", "/conversations", knock, **bearer).status_code == 201

    group = group_create(owner=juniper, title="Owl watch")
    invite = invite_create(user=juniper, conversation=group)
    for person in (reader, ravel):
        group_join_by_invite(user=person, code=invite.code)
    chat_services.message_send(sender=juniper, conversation=group, text="Juniper says hoo", client_id="j1")
    sent = {"text": "Ravel says hoo", "client_id": "r1"}
    assert api(ravel_client, "POST", f"/conversations/{group.public_id}/messages", sent, **bearer).status_code == 201
    voice = SimpleUploadedFile("v.webm", voice_webm(1.0), content_type="audio/webm")
    sticker = sticker_create(owner=juniper, image=png((600, 600)), caption="hoot", audio=voice)
    message_send_sticker(sender=juniper, conversation=group, sticker_id=sticker.public_id, client_id="j2")
    reader_client = Client()
    reader_client.force_login(reader)
    api(reader_client, "POST", f"/stickers/{sticker.public_id}/save")

    operator = make_user(username="mod", is_staff=True)
    from django.contrib.auth.models import Permission

    operator.user_permissions.add(Permission.objects.get(codename="change_report"))
    operator = User.objects.get(pk=operator.pk)
    account_suspend(by=operator, username="ravel", days=3, reason=SECRETS["ravel's suspension reason"])
    call_command("recommendations_recompute", person="reader")
    direct = Conversation.objects.get(kind="direct")
    return {
        "reader": reader,
        "channels": [moon, sky, dawn],
        "posts": [mine, juniper_post, poll, Post.objects.get(public_id=ravel_post.json()["id"])],
        "group": group,
        "direct": direct,
        "invite": invite.code,
        "sticker": sticker.public_id,
        "others": [juniper, ravel],
    }


def pages_and_lists(world: dict) -> list[str]:
    channels, posts = world["channels"], world["posts"]
    group, direct = world["group"].public_id, world["direct"].public_id
    web = ["/", "/explore", "/explore?q=moon", "/discover", "/recommendations/channels", "/chats", "/stickers"]
    web += ["/stickers/tray", f"/stickers/{world['sticker']}", f"/join/{world['invite']}"]
    web += [f"/chats/{group}", f"/chats/{group}/members", f"/chats/{direct}", f"/chats/{group}/older?before=3"]
    for channel in channels:
        web += [f"/c/{channel.public_id}"]
    web += [f"/c/{channels[2].public_id}/records"]
    web += [f"/p/{post.public_id}" for post in posts]
    lists = ["/channels", "/channels?q=moon", "/feed", "/recommendations/channels", "/recommendations/posts"]
    lists += ["/conversations", f"/conversations/{group}", f"/conversations/{group}/messages"]
    lists += [f"/conversations/{direct}/messages", f"/invites/{world['invite']}", "/stickers"]
    lists += [f"/stickers/{world['sticker']}", "/blocks", "/me/export"]
    for channel in channels:
        lists += [f"/channels/{channel.public_id}", f"/channels/{channel.public_id}/posts"]
    lists += [f"/channels/{channels[2].public_id}/punches"]
    lists += [f"/posts/{post.public_id}" for post in posts]
    return web + ["/api/v1" + path for path in lists]


def assert_nothing_private(where: str, text: str) -> None:
    lowered = text.lower()
    for what, secret in SECRETS.items():
        assert secret.lower() not in lowered, f"{what} shown in {where}"
    found = KEY.findall(text)
    assert not found, f"database keys {found} shown in {where}"


@pytest.mark.django_db
def test_no_page_or_list_shows_another_persons_private_facts(settings, tmp_path):
    """Ensure that across every page and API list the reader can open, others are known only by username."""
    settings.MEDIA_ROOT = tmp_path
    settings.ADS_ENABLED = False
    world = seed()
    reader = Client()
    reader.force_login(world["reader"])
    seen = []
    for path in pages_and_lists(world):
        response = reader.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        text = response.content.decode()
        assert_nothing_private(path, text)
        seen.append(text)
    everything = "\n".join(seen)
    # The crawl did reach the others' content: their names, posts, messages, votes and punches are there.
    for shown in [
        "juniper",
        "ravel",
        "Juniper saw a comet",
        "Ravel hears owls",
        "Ravel says hoo",
        "Ravel felt that too",
    ]:
        assert shown in everything, shown


def _session_cookie(user: User) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.EmailOrUsernameBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return str(session.session_key)


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_no_websocket_event_shows_another_persons_private_facts(settings, tmp_path):
    """Ensure that the events the reader's socket receives as others knock, write, type and read hold no
    private fact either."""
    settings.MEDIA_ROOT = tmp_path
    world = await database_sync_to_async(seed)()
    reader: User = world["reader"]
    juniper, ravel = world["others"]
    key = await database_sync_to_async(_session_cookie)(reader)
    headers = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1"), (b"cookie", f"sessionid={key}".encode())]
    ws = WebsocketCommunicator(application, "/ws/", headers=headers)
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from())["type"] == "auth.ok"
    group: Conversation = world["group"]

    def others_act() -> None:
        chat_services.message_send(
            sender=juniper, conversation=Conversation.objects.get(pk=group.pk), text="Still up?", client_id="j9"
        )
        fresh = Conversation.objects.get(pk=group.pk)
        chat_services.conversation_read(user=ravel, conversation=fresh, seq=fresh.next_seq - 1)
        newcomer = make_user(username="newcomer", email="newcomer.lastname@leak-d.example", timezone="Pacific/Chatham")
        channel_join(user=newcomer, channel=world["channels"][0])
        chat_services.conversation_knock(sender=newcomer, post=world["posts"][0], text="Hi there", client_id="n1")

    await database_sync_to_async(others_act)()
    from chat.realtime import typing
    from core.realtime import Credential

    await typing(juniper, {"type": "typing", "conversation_id": group.public_id}, Credential())
    await ws.send_json_to({"type": "resume", "conversation_id": group.public_id, "after": 0})
    await ws.send_json_to({"type": "send", "conversation_id": group.public_id, "text": "Me too", "client_id": "r1"})
    frames = []
    while not await ws.receive_nothing(timeout=0.5):
        frames.append(await ws.receive_from())
    await ws.disconnect()
    kinds = {json.loads(frame)["type"] for frame in frames}
    assert {"message.new", "read", "typing", "conversation.request", "sent"} <= kinds, kinds
    for frame in frames:
        assert_nothing_private("a WebSocket event", frame)
        assert "leak-d.example" not in frame
        assert "lastname" not in frame
    assert any("Still up?" in frame for frame in frames)
    assert timezone.now()  # the events above were produced now, by the real services
