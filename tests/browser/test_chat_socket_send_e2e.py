"""The chat page sends over the WebSocket it already holds (a `send` frame) and falls back to the API with the same
client_id when the socket is down, drops before answering or says nothing (docs/websocket.md, "Sending"): the
message arrives once, whichever door it went through, and a refusal looks the same from either."""

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, Request, Response, WebSocketRoute, expect

from chat import services
from chat.models import Message
from posts.services import post_create_text
from stickers.services import sticker_create
from tests.browser.conftest import Contexts
from tests.browser.test_chat_media_groups_e2e import talking
from tests.browser.threads import OwnThread
from tests.factories import make_channel, make_user
from tests.samples import png

REFUSED = "Wait until they accept: until then you can send 3 messages in all."


def _wait_for(page: Page, check: Callable[[], bool], seconds: float = 15) -> None:
    """Wait for `check` while Playwright runs (the frames it records arrive only while it has the thread)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the page never did it"
        page.wait_for_timeout(50)


def _is_send_post(request: Request) -> bool:
    return request.method == "POST" and request.url.endswith("/messages")


def _posts_to_the_api(page: Page) -> list[dict[str, Any]]:
    """The bodies of the page's POSTs to the messages API, as they are made."""
    bodies: list[dict[str, Any]] = []

    def record(request: Request) -> None:
        if _is_send_post(request):
            bodies.append(request.post_data_json or {})

    page.on("request", record)
    return bodies


class Wire:
    """The page's socket, routed through the test: every frame the page sends is recorded; `on_frame` and
    `on_answer` may hold a frame back (return False) or act (close the page's side)."""

    def __init__(self, page: Page, *, connect: bool = True) -> None:
        self.sent: list[dict[str, Any]] = []  # what the page sent, in order
        self.delivered: list[dict[str, Any]] = []  # what the page was given, in order
        self.routes: list[WebSocketRoute] = []
        self.on_frame: Callable[[WebSocketRoute, WebSocketRoute, dict[str, Any]], bool] = lambda *_: True
        self.on_answer: Callable[[WebSocketRoute, dict[str, Any]], bool] = lambda *_: True
        self.connect = connect
        page.route_web_socket("**/ws/", self._route)

    def _route(self, page_side: WebSocketRoute) -> None:
        self.routes.append(page_side)
        if not self.connect:
            page_side.close(code=1011, reason="down")  # the socket is down: every attempt closes at once
            return
        server = page_side.connect_to_server()

        def from_page(message: str | bytes) -> None:
            frame = json.loads(message)
            self.sent.append(frame)
            if self.on_frame(page_side, server, frame):
                server.send(message)

        def from_server(message: str | bytes) -> None:
            frame = json.loads(message)
            if self.on_answer(page_side, frame):
                self.give(page_side, message)

        page_side.on_message(from_page)
        server.on_message(from_server)

    def give(self, page_side: WebSocketRoute, message: str | bytes) -> None:
        self.delivered.append(json.loads(message))
        page_side.send(message)

    def frames(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.sent if frame.get("type") == kind]


def _open_chat(page: Page, url: str, wire: Wire | None = None) -> list[dict[str, Any]]:
    """Open the chat and wait until its socket is signed in (it asks `resume` on auth.ok). Returns the frames the
    page sends, as it sends them."""
    frames: list[dict[str, Any]] = wire.sent if wire else []
    if wire is None:
        page.on("websocket", lambda socket: socket.on("framesent", lambda payload: frames.append(json.loads(payload))))
    page.goto(url)
    _wait_for(page, lambda: any(frame.get("type") == "resume" for frame in frames))
    return frames


def _type_and_send(page: Page, text: str) -> None:
    page.locator("#chat-text").fill(text)
    page.locator("#chat-text").press("Enter")


def test_text_and_a_sticker_go_over_the_socket_and_reach_both(asgi_live_server, signed_in, media_root, shot) -> None:
    author, knocker, conversation = talking("tidepool", "limpet")
    sticker = sticker_create(owner=knocker, image=png((300, 300)), caption="ahoy")
    url = f"/chats/{conversation.public_id}"
    owl = signed_in(author)
    owl.goto(url)
    lark = signed_in(knocker)
    posts = _posts_to_the_api(lark)
    frames = _open_chat(lark, url)

    _type_and_send(lark, "Low tide at six, want to look for crabs?")
    expect(owl.locator(".bubble:not(.mine)").last).to_contain_text("Low tide at six")
    mine = lark.locator(".bubble.mine", has_text="Low tide at six")
    expect(mine).to_have_count(1)  # the answer and the message's own echo: one bubble
    expect(lark.locator(".bubble.pending")).to_have_count(0)

    lark.get_by_role("button", name="Stickers").tap()
    lark.get_by_role("button", name="Send “ahoy”").tap()
    expect(owl.locator(".bubble:not(.mine) .bubble-sticker")).to_have_count(1)
    expect(lark.locator(".bubble.mine .bubble-sticker")).to_have_count(1)
    expect(lark.locator(".bubble.pending")).to_have_count(0)
    shot(lark, "chat-socket-01-sent")
    shot(owl, "chat-socket-02-received")

    sends = [frame for frame in frames if frame.get("type") == "send"]
    assert [(frame.get("text"), frame.get("sticker_id")) for frame in sends] == [
        ("Low tide at six, want to look for crabs?", None),
        (None, sticker.public_id),
    ]
    assert posts == []  # nothing went through the API
    stored = list(Message.objects.filter(sender=knocker).exclude(client_id="k").order_by("seq"))
    assert [(m.kind, m.client_id) for m in stored] == [
        ("text", sends[0]["client_id"]),
        ("sticker", sends[1]["client_id"]),
    ]


@pytest.mark.parametrize("first", ["echo", "answer"])
def test_the_own_echo_before_or_after_the_answer_shows_one_bubble(asgi_live_server, signed_in, first) -> None:
    """The server's `sent` and the sender's own `message.new` may come in either order (docs/websocket.md): one
    bubble either way. The test holds one back until the other was given to the page."""
    author, knocker, conversation = talking(f"harbour{first}", f"gull{first}")
    url = f"/chats/{conversation.public_id}"
    owl = signed_in(author)
    owl.goto(url)
    lark = signed_in(knocker)
    wire = Wire(lark)
    held: list[str] = []  # the frame to come second, until the first was given
    passed: list[dict[str, Any]] = []  # the frame to come first, once given

    def is_echo(frame: dict[str, Any]) -> bool:
        return frame.get("type") == "message.new" and frame["message"]["sender"]["username"] == knocker.username

    def on_answer(page_side: WebSocketRoute, frame: dict[str, Any]) -> bool:
        hold, then = (frame.get("type") == "sent", is_echo(frame))
        if first == "answer":
            hold, then = then, hold
        if hold and not passed:
            held.append(json.dumps(frame))
            return False
        if then:
            passed.append(frame)
            wire.give(page_side, json.dumps(frame))
            for message in held:
                wire.give(page_side, message)
            held.clear()
            return False
        return True

    wire.on_answer = on_answer
    _open_chat(lark, url, wire)
    _type_and_send(lark, "Boats are back.")
    expect(owl.locator(".bubble:not(.mine)").last).to_contain_text("Boats are back.")
    # Both given: the server itself may send them in either order (from the event loop, `sent` goes first).
    _wait_for(lark, lambda: not held and len([f for f in wire.delivered if f.get("type") == "sent" or is_echo(f)]) == 2)
    kinds = [frame["type"] for frame in wire.delivered if frame.get("type") == "sent" or is_echo(frame)]
    assert kinds == (["message.new", "sent"] if first == "echo" else ["sent", "message.new"])
    # Something after both, to know the page has read them: the owl answers.
    _type_and_send(owl, "Saw them.")
    expect(lark.locator(".bubble:not(.mine)").last).to_contain_text("Saw them.")
    expect(lark.locator(".bubble.mine", has_text="Boats are back.")).to_have_count(1)
    expect(lark.locator(".bubble.pending")).to_have_count(0)
    assert Message.objects.filter(text="Boats are back.").count() == 1


def _lose_the_answer(wire: Wire, *, close: bool) -> None:
    """The server gets the `send` and stores it; its answer (and the echo) never reach the page. With `close`,
    the page's socket drops when the answer would have come; else it stays open, silent."""
    state = {"sent": False}

    def on_frame(page_side: WebSocketRoute, server: WebSocketRoute, frame: dict[str, Any]) -> bool:
        state["sent"] = state["sent"] or frame.get("type") == "send"
        return True

    def on_answer(page_side: WebSocketRoute, frame: dict[str, Any]) -> bool:
        if not state["sent"]:
            return True
        if close and frame.get("type") == "sent":
            page_side.close(code=1011, reason="dropped")
        return False  # lost: the answer and the echo alike

    wire.on_frame, wire.on_answer = on_frame, on_answer


@pytest.mark.parametrize("trouble", ["socket down", "answer lost", "drops before answering"])
def test_without_the_socket_the_message_goes_through_the_api_once(
    asgi_live_server, signed_in, contexts: Contexts, shot, trouble
) -> None:
    slug = trouble.replace(" ", "")
    author, knocker, conversation = talking(f"reef{slug}"[:20], f"eel{slug}"[:20])
    url = f"/chats/{conversation.public_id}"
    owl = signed_in(author)
    owl.goto(url)
    lark = signed_in(knocker)
    posts = _posts_to_the_api(lark)
    wire = Wire(lark, connect=trouble != "socket down")
    if trouble == "socket down":
        lark.goto(url)
        expect(lark.locator("#connection")).to_be_visible()  # "Reconnecting…"
    else:
        _lose_the_answer(wire, close=trouble == "drops before answering")
        _open_chat(lark, url, wire)

    text = f"Through the other door ({trouble})."
    with lark.expect_response(lambda response: _is_send_post(response.request), timeout=15_000) as answered:
        _type_and_send(lark, text)
    response: Response = answered.value
    expect(lark.locator(".bubble.mine", has_text=text)).to_have_count(1)
    expect(lark.locator(".bubble.pending")).to_have_count(0)
    expect(owl.locator(".bubble:not(.mine)", has_text=text)).to_have_count(1)
    shot(lark, f"chat-socket-03-{slug}")

    assert len(posts) == 1
    stored = Message.objects.get(text=text)  # exactly one
    assert posts[0]["client_id"] == stored.client_id
    sends = wire.frames("send")
    if trouble == "socket down":
        assert (sends, response.status) == ([], 201)
    else:
        # The socket stored it; the API, asked with the same client_id, answered that message and stored nothing.
        assert [frame["client_id"] for frame in sends] == [stored.client_id]
        assert response.status == 200
    # The other side reads it once, after a reload too.
    owl.reload()
    expect(owl.locator(".bubble", has_text=text)).to_have_count(1)


def _knocked_thrice(author_name: str, knocker_name: str):
    """A request not yet accepted, with the knocker's three messages already sent: a fourth is refused."""
    with OwnThread() as pool:
        return pool.submit(_knock_thrice, author_name, knocker_name).result()


def _knock_thrice(author_name: str, knocker_name: str):
    author, knocker = make_user(username=author_name), make_user(username=knocker_name)
    channel = make_channel(name=f"Lighthouses {author_name}", host=author)
    post = post_create_text(author=author, channel=channel, text="The lamp turns every ten seconds.")
    conversation, _sent = services.conversation_knock(sender=knocker, post=post, text="Which one?", client_id="k1")
    for n in (2, 3):
        services.message_send(sender=knocker, conversation=conversation, text=f"Hello? ({n})", client_id=f"k{n}")
    return author, knocker, conversation


def _expect_the_refusal(contexts: Contexts, page: Page, url: str) -> None:
    """The API's 403 to the page's script is the refusal under test, shown next to the composer: not a problem."""
    for context, problems in contexts.opened:
        if context is page.context:
            problems.errors.remove(f"403 for fetch {url}")
            problems.document_4xx.add(url)


@pytest.mark.parametrize("door", ["socket", "api"])
def test_a_refusal_shows_next_to_the_composer_and_keeps_the_text(
    asgi_live_server, signed_in, contexts: Contexts, shot, door
) -> None:
    _author, knocker, conversation = _knocked_thrice(f"keeper{door}", f"sailor{door}")
    url = f"/chats/{conversation.public_id}"
    lark = signed_in(knocker)
    posts = _posts_to_the_api(lark)
    wire = Wire(lark, connect=door == "socket")
    if door == "socket":
        _open_chat(lark, url, wire)
    else:
        lark.goto(url)
        expect(lark.locator("#connection")).to_be_visible()

    text = "One more thing: is it the red one?"
    _type_and_send(lark, text)
    expect(lark.locator("#composer-error")).to_have_text(REFUSED)
    expect(lark.locator("#chat-text")).to_have_value(text)  # kept, to send once they accept
    expect(lark.locator(".bubble.mine")).to_have_count(3)  # no bubble for the refused one
    expect(lark.locator(".bubble.pending, .bubble.failed")).to_have_count(0)
    if door == "socket":
        refusals = [frame for frame in wire.delivered if frame.get("type") == "error"]
        assert [(r["code"], r["client_id"]) for r in refusals] == [
            ("awaiting_acceptance", wire.frames("send")[0]["client_id"])
        ]
        assert posts == []
    else:
        assert len(posts) == 1
        _expect_the_refusal(
            contexts, lark, f"{asgi_live_server}/api/v1/conversations/{conversation.public_id}/messages"
        )
    shot(lark, f"chat-socket-04-refused-{door}", full_page=False)
    assert not Message.objects.filter(text=text).exists()


def test_a_refused_field_shows_its_own_message(asgi_live_server, signed_in) -> None:
    """A text the server finds too long (a script got past the box's maxlength): the `error` frame's `fields` say
    why, and that is what shows, not the general "Some fields need another look."."""
    _author, knocker, conversation = talking("lantern", "moth")
    lark = signed_in(knocker)
    wire = Wire(lark)
    _open_chat(lark, f"/chats/{conversation.public_id}", wire)
    text = "o" * 2001
    lark.locator("#chat-text").evaluate(
        '(box, text) => { box.value = text; box.dispatchEvent(new Event("input")); }', text
    )
    lark.get_by_role("button", name="Send", exact=True).tap()
    expect(lark.locator("#composer-error")).to_have_text("A message has at most 2,000 characters.")
    expect(lark.locator("#chat-text")).to_have_value(text)
    refusals = [frame for frame in wire.delivered if frame.get("type") == "error"]
    assert [(r["code"], list(r["fields"])) for r in refusals] == [("invalid", ["text"])]
    assert not Message.objects.filter(text=text).exists()
