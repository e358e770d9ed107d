"""Who may open what: every private thing, through every door, for every kind of person.

The table below is the spec. Each row is one private resource behind one door and names the roles for which it
works. Everyone else is answered as if it did not exist (404), so ids can't be probed — with these exceptions,
each written in its row:

- `seen`: roles that can already see the thing (a member of the group, a public channel) but lack the right for
  this action get a refusal with a reason (403, or the page again with the reason for web forms, 302): nothing is
  learnt that they didn't know.
- a person signed out is sent to the login page by web pages, gets 401 from the API, and 404 for files.

The world (one per row): olive owns the group "Night owls", hosts the channel "Night walks" and wrote a post in it,
and mint knocked on that post (a request olive hasn't answered). mint and sully are in the group; sully is
suspended. ash was in the group and left. olive blocked bram, who holds an invite link to the group. sage has
nothing to do with any of it. mod is a site moderator (staff with the moderation permission), in nothing.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.services import token_issue
from chat.attachments import message_send_photo, message_send_sticker
from chat.blocks import block_create
from chat.groups import group_create, group_join_by_invite, group_leave, invite_create
from chat.models import Conversation
from chat.services import conversation_knock, message_send
from interests.services import channel_join
from moderation.services import report_create
from posts.services import post_create_text
from stickers.services import sticker_create
from tests.factories import PASSWORD, make_channel, make_user
from tests.samples import png, voice_webm

pytestmark = pytest.mark.django_db

OWNER, MEMBER, EX_MEMBER, BLOCKED, STRANGER, SUSPENDED, MODERATOR, SIGNED_OUT = (
    "owner",
    "member",
    "ex-member",
    "blocked",
    "stranger",
    "suspended",
    "moderator",
    "signed-out",
)
SIGNED_IN = (OWNER, MEMBER, EX_MEMBER, BLOCKED, STRANGER, SUSPENDED, MODERATOR)
ROLES = (*SIGNED_IN, SIGNED_OUT)
USERNAMES = {
    OWNER: "olive",
    MEMBER: "mint",
    EX_MEMBER: "ash",
    BLOCKED: "bram",
    STRANGER: "sage",
    SUSPENDED: "sully",
    MODERATOR: "mod",
}
IN_GROUP = {OWNER, MEMBER, SUSPENDED}
IN_REQUEST = {OWNER, MEMBER}  # olive was approached, mint knocked


@dataclass
class World:
    people: dict[str, User]
    ids: dict[str, str]  # what the paths below fill in

    def path(self, template: str) -> str:
        return template.format(**self.ids)


def build_world(media_root) -> World:
    people = {role: make_user(username=name, email=f"{name}.private@example.org") for role, name in USERNAMES.items()}
    olive, mint, ash, sully = (people[r] for r in (OWNER, MEMBER, EX_MEMBER, SUSPENDED))
    moderator = people[MODERATOR]
    moderator.is_staff = True
    moderator.save(update_fields=["is_staff"])
    moderator.user_permissions.add(
        *Permission.objects.filter(codename__in=["change_report", "view_report", "view_message", "view_conversation"])
    )
    channel = make_channel(host=olive, name="Night walks")
    channel_join(user=mint, channel=channel)
    post = post_create_text(author=olive, channel=channel, text="The streets at 3 am")
    mints_post = post_create_text(author=mint, channel=channel, text="Same, every night")
    direct, _sent = conversation_knock(sender=mint, post=post, text="Me too at 3 am", client_id="knock")

    group = group_create(owner=olive, title="Night owls")
    invite = invite_create(user=olive, conversation=group)
    for person in (mint, ash, sully):
        group_join_by_invite(user=person, code=invite.code)
    group_leave(user=ash, conversation=group)
    block_create(blocker=olive, username="bram")
    welcome = message_send(sender=olive, conversation=group, text="Hoo, owls of the night", client_id="w").message
    photo = message_send_photo(sender=mint, conversation=group, image=png(), client_id="p").message
    voice = SimpleUploadedFile("v.webm", voice_webm(1.0), content_type="audio/webm")
    sticker = sticker_create(owner=olive, image=png((600, 600)), caption="hoot", audio=voice)
    message_send_sticker(sender=olive, conversation=group, sticker_id=sticker.public_id, client_id="s")
    report_create(reporter=mint, target_kind="post", target_id=post.public_id, reason="spam", text="")
    sully.suspended_until = timezone.now() + timedelta(days=3)
    sully.suspension_reason = "shouting"
    sully.save(update_fields=["suspended_until", "suspension_reason"])
    people = {role: User.objects.get(pk=person.pk) for role, person in people.items()}
    return World(
        people=people,
        ids={
            "group": group.public_id,
            "direct": direct.public_id,
            "photo": photo.public_id,
            "welcome": welcome.public_id,
            "sticker": sticker.public_id,
            "invite": invite.code,
            "channel": channel.public_id,
            "post": post.public_id,
            "mints_post": mints_post.public_id,
        },
    )


@dataclass(frozen=True)
class Row:
    resource: str
    door: str  # "web" (session), "api" (session and bearer token), "file" (session and bearer token)
    method: str
    path: str
    ok: frozenset[str]
    status: int = 200  # what the rightful roles get
    body: dict = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)  # roles that know the thing exists: refused with a reason
    signed_out_to: str = "/login"
    private: tuple[str, ...] = ()  # the ids that make it private, when the path also names a public thing

    @property
    def id(self) -> str:
        return f"{self.door} {self.method} {self.path}"


def ok(*roles: str) -> frozenset[str]:
    return frozenset(roles)


def public_channel_refusal(status: int, *, but: set[str]) -> dict[str, int]:
    """The channel is public: everyone signed in sees it, so a host-only action is refused with a reason."""
    return {role: status for role in SIGNED_IN if role not in but}


# fmt: off
MATRIX = [
    # --- a group conversation and its messages -------------------------------------------------------------------
    Row("group page", "web", "GET", "/chats/{group}", ok(*IN_GROUP)),
    Row("older messages", "web", "GET", "/chats/{group}/older?before=3", ok(*IN_GROUP)),
    Row("send (form)", "web", "POST", "/chats/{group}/send", ok(OWNER, MEMBER), 302,
        {"text": "hi", "client_id": "form"}, seen={SUSPENDED: 302}),  # back to the page, which says why
    Row("report a message (form)", "web", "GET", "/chats/{group}/report", ok(*IN_GROUP)),
    Row("group", "api", "GET", "/api/v1/conversations/{group}", ok(*IN_GROUP)),
    Row("messages", "api", "GET", "/api/v1/conversations/{group}/messages", ok(*IN_GROUP)),
    Row("send", "api", "POST", "/api/v1/conversations/{group}/messages", ok(OWNER, MEMBER), 201,
        {"text": "hi", "client_id": "api"}, seen={SUSPENDED: 403}),
    Row("mark read", "api", "POST", "/api/v1/conversations/{group}/read", ok(*IN_GROUP), 200, {"seq": 1}),
    Row("mute", "api", "POST", "/api/v1/conversations/{group}/mute", ok(*IN_GROUP), 200, {"muted": True}),
    Row("report olive's message", "api", "POST", "/api/v1/reports", ok(MEMBER, SUSPENDED), 201,
        {"target_kind": "message", "target_id": "{welcome}", "reason": "spam"}),  # not one's own
    Row("forward a post into the group (form)", "web", "POST", "/p/{post}/forward", ok(OWNER, MEMBER), 302,
        {"conversation_id": "{group}", "client_id": "fwd"}, seen={SUSPENDED: 403}, private=("group",)),
    # --- private files ---------------------------------------------------------------------------------------------
    Row("chat photo", "file", "GET", "/chats/{group}/m/{photo}/image", ok(*IN_GROUP)),
    Row("chat photo thumbnail", "file", "GET", "/chats/{group}/m/{photo}/thumb", ok(*IN_GROUP)),
    Row("sticker voice (sent in the group)", "file", "GET", "/stickers/{sticker}/voice", ok(*IN_GROUP)),
    # --- group admin ----------------------------------------------------------------------------------------------
    Row("members and invite links", "web", "GET", "/chats/{group}/members", ok(*IN_GROUP)),
    Row("make an invite (form)", "web", "POST", "/chats/{group}/manage", ok(OWNER), 302,
        {"action": "invite", "days": "7"}, seen={MEMBER: 302, SUSPENDED: 302}),
    Row("make an invite", "api", "POST", "/api/v1/conversations/{group}/invites", ok(OWNER), 201,
        {"days": 7}, seen={MEMBER: 403, SUSPENDED: 403}),
    Row("list invites", "api", "GET", "/api/v1/conversations/{group}/invites", ok(OWNER),
        seen={MEMBER: 403, SUSPENDED: 403}),
    Row("set a member's role", "api", "PATCH", "/api/v1/conversations/{group}/members/mint", ok(OWNER), 200,
        {"role": "member"}, seen={MEMBER: 403, SUSPENDED: 403}),
    # --- invites: the code is the key, except for those the group's owner blocked ------------------------------------
    Row("invite page", "web", "GET", "/join/{invite}", ok(*(set(SIGNED_IN) - {BLOCKED}))),
    Row("invite preview", "api", "GET", "/api/v1/invites/{invite}", ok(*(set(SIGNED_IN) - {BLOCKED}))),
    Row("join by invite", "api", "POST", "/api/v1/invites/{invite}/join", ok(*(set(SIGNED_IN) - {BLOCKED}))),
    # --- a message request ----------------------------------------------------------------------------------------
    Row("request page", "web", "GET", "/chats/{direct}", ok(*IN_REQUEST)),
    Row("request messages", "api", "GET", "/api/v1/conversations/{direct}/messages", ok(*IN_REQUEST)),
    Row("accept (form)", "web", "POST", "/chats/{direct}/answer", ok(OWNER), 302, {"action": "accept"},
        seen={MEMBER: 302}),
    Row("accept", "api", "POST", "/api/v1/conversations/{direct}/accept", ok(OWNER), seen={MEMBER: 403}),
    Row("ignore", "api", "POST", "/api/v1/conversations/{direct}/ignore", ok(OWNER), seen={MEMBER: 403}),
    # --- stickers -------------------------------------------------------------------------------------------------
    Row("sticker page", "web", "GET", "/stickers/{sticker}", ok(OWNER)),
    Row("sticker", "api", "GET", "/api/v1/stickers/{sticker}", ok(OWNER)),
    Row("save a sticker sent in the group", "api", "POST", "/api/v1/stickers/{sticker}/save", ok(*IN_GROUP), 201),
    Row("sticker caption", "api", "PATCH", "/api/v1/stickers/{sticker}", ok(OWNER), 200, {"caption": "owl"}),
    Row("sticker order (form)", "web", "POST", "/stickers/{sticker}/arrange", ok(OWNER), 302, {"action": "later"}),
    # --- data export: each signed-in person gets their own (TestExports checks whose) ---------------------------------
    Row("export (page)", "web", "GET", "/me/export", ok(*SIGNED_IN)),
    Row("export", "api", "GET", "/api/v1/me/export", ok(*SIGNED_IN)),
    # --- the host's tools of a (public) channel ---------------------------------------------------------------------
    Row("channel settings", "web", "GET", "/c/{channel}/settings", ok(OWNER),
        seen=public_channel_refusal(403, but={OWNER})),
    Row("channel moderation log", "api", "GET", "/api/v1/channels/{channel}/moderation", ok(OWNER),
        seen=public_channel_refusal(403, but={OWNER})),
    Row("pin a post", "api", "POST", "/api/v1/posts/{mints_post}/pin", ok(OWNER), 204,
        seen=public_channel_refusal(403, but={OWNER})),
    Row("remove a post (form)", "web", "GET", "/p/{mints_post}/remove", ok(OWNER),
        seen=public_channel_refusal(403, but={OWNER})),
    # --- operators ------------------------------------------------------------------------------------------------
    Row("report queue", "web", "GET", "/ops/reports", ok(MODERATOR)),
    Row("a reported post", "web", "GET", "/ops/reports/post/{post}", ok(MODERATOR)),
    Row("admin", "web", "GET", "/admin/", ok(MODERATOR), signed_out_to="/admin/login/"),
    Row("admin: messages (metadata only)", "web", "GET", "/admin/chat/message/", ok(MODERATOR),
        signed_out_to="/admin/login/"),
]
# fmt: on


def _bearer(person: User) -> str:
    return token_issue(login=person.username, password=PASSWORD, client_ip="10.0.0.1").secret


def _clients(row: Row, role: str, person: User | None) -> list[tuple[str, Client]]:
    """The ways this role comes through this row's door."""
    if person is None:
        return [("signed out", Client())]
    session = Client()
    session.force_login(person)
    if row.door == "web":
        return [("session", session)]
    return [("session", session), ("bearer", Client(headers={"Authorization": f"Bearer {_bearer(person)}"}))]


def _send(client: Client, row: Row, world: World, attempt: str):
    path = world.path(row.path)
    if row.method == "GET":
        return client.get(path)
    body = {name: world.path(value) if isinstance(value, str) else value for name, value in row.body.items()}
    if "client_id" in body:
        body["client_id"] = f"{body['client_id']}-{attempt}"  # each attempt a new message, not a resend
    if row.door == "web":
        return client.generic(row.method, path, _form(body), content_type="application/x-www-form-urlencoded")
    return client.generic(row.method, path, json.dumps(body), content_type="application/json")


def _form(body: dict) -> str:
    from urllib.parse import urlencode

    return urlencode(body)


def _page(response) -> str:
    """A response's body without what changes on every request (CSP nonce, CSRF token, a fresh client_id)."""
    text = response.content.decode(errors="replace")
    text = re.sub(r'nonce="[^"]+"', "", text)
    text = re.sub(r'name="(csrfmiddlewaretoken|client_id)" value="[^"]+"', "", text)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", text)


def expected(row: Row, role: str) -> int:
    if role in row.ok:
        return row.status
    if role in row.seen:
        return row.seen[role]
    if role == SIGNED_OUT:
        return {"web": 302, "api": 401, "file": 404}[row.door]
    return 404


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.id)
def test_only_the_rightful_get_in(row: Row, media_root):
    """Ensure that each row's resource works for the roles it names, and that nobody else learns it exists."""
    world = build_world(media_root)
    # The refused first: a refusal changes nothing, so the rightful then find the world as it was built.
    order = sorted(ROLES, key=lambda role: role in row.ok)
    # The same paths with every id replaced by one that never existed: a refusal must read exactly like these.
    missing = dict.fromkeys(row.private or world.ids, "n0thing-here-000")
    ghost = World(people=world.people, ids={**world.ids, **missing})
    for role in order:
        for how, client in _clients(row, role, world.people.get(role)):
            response = _send(client, row, world, f"{role}-{how}")
            want = expected(row, role)
            outcome = f"{row.resource}: {role} ({how}) got {response.status_code}, expected {want}"
            assert response.status_code == want, outcome
            if want == 404 and role != SIGNED_OUT:
                nothing = _send(client, row, ghost, f"{role}-{how}-ghost")
                assert nothing.status_code == 404, outcome
                assert _page(response) == _page(nothing), f"{outcome}: the refusal differs from a missing id's"
            if want == 404 and row.door == "api":
                assert response.json()["code"] == "not_found", outcome
            if role == SIGNED_OUT and row.door == "web":
                assert response["Location"].startswith(row.signed_out_to), outcome
            if want == 403 and row.door == "api":
                assert response.json()["code"] in {"suspended", "not_group_admin", "not_recipient", "not_host"}


class TestWhatTheRefusedLeaveBehind:
    def test_a_refused_send_writes_nothing_and_the_rightful_send_is_stored(self, media_root):
        """Ensure that refusals are refusals: no row written by someone outside (or suspended)."""
        world = build_world(media_root)
        group = Conversation.objects.get(public_id=world.ids["group"])
        before = group.messages.count()
        for role in (EX_MEMBER, BLOCKED, STRANGER, SUSPENDED, MODERATOR):
            client = Client()
            client.force_login(world.people[role])
            client.post(f"/api/v1/conversations/{group.public_id}/messages", {"text": "x", "client_id": role})
        assert group.messages.count() == before
        client = Client()
        client.force_login(world.people[MEMBER])
        response = client.post(
            f"/api/v1/conversations/{group.public_id}/messages",
            json.dumps({"text": "still here", "client_id": "m"}),
            content_type="application/json",
        )
        assert response.status_code == 201
        assert group.messages.count() == before + 1

    def test_the_admin_never_shows_a_private_message(self, media_root):
        """Ensure that a moderator browsing the admin's messages sees metadata, never the words."""
        world = build_world(media_root)
        client = Client()
        client.force_login(world.people[MODERATOR])
        listing = client.get("/admin/chat/message/")
        assert listing.status_code == 200
        assert "owls of the night" not in listing.text
        assert "Me too at 3 am" not in listing.text

    def test_the_public_media_route_never_serves_private_files(self, media_root):
        """Ensure that knowing a chat photo's or a sticker voice's storage name is not enough to fetch it."""
        from chat.models import Message
        from stickers.models import Sticker

        world = build_world(media_root)
        photo = Message.objects.get(public_id=world.ids["photo"])
        sticker = Sticker.objects.get(public_id=world.ids["sticker"])
        assert sticker.audio.startswith("sticker-voices/")
        assert sticker.audio_url == f"/stickers/{sticker.public_id}/voice"
        member = Client()
        member.force_login(world.people[MEMBER])
        for name in (photo.image, photo.thumb, sticker.audio):
            assert (media_root / name).exists()
            assert member.get(f"/media/{name}").status_code == 404
        assert member.get(f"/media/{sticker.image}").status_code == 200  # the picture itself is public


class TestExports:
    def test_an_export_holds_only_its_owners_private_data(self, media_root):
        """Ensure that a member's export names no other person's email and no message they did not take part in."""
        world = build_world(media_root)
        for role in (MEMBER, STRANGER):
            client = Client()
            client.force_login(world.people[role])
            text = client.get("/api/v1/me/export").content.decode()
            mine = world.people[role].email
            others = [p.email for r, p in world.people.items() if r != role]
            assert mine in text
            assert not [email for email in others if email in text]
            assert ("Me too at 3 am" in text) == (role == MEMBER)  # mint's own knock
