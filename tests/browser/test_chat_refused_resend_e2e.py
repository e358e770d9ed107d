"""A message the socket stored whose answer was lost, sent again through the API with its client_id and refused
there (here: an operator suspended the sender meanwhile; a resend is otherwise answered with the stored message,
whatever the limits): the page shows the refusal until the message itself comes, by its echo or a resume, and
then shows it sent, once, whichever came first. The socket's answers are
held back or lost by the test (tests/browser/test_chat_socket_send_e2e.py's Wire); the refusal is the server's."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Request, Route, WebSocketRoute, expect

from accounts.models import User
from chat.models import Message
from stickers.services import sticker_create
from tests.browser.conftest import Contexts
from tests.browser.test_chat_media_groups_e2e import talking
from tests.browser.test_chat_socket_send_e2e import Wire, _is_send_post, _open_chat, _type_and_send, _wait_for
from tests.samples import png

TEXT = "The tide tables are on the harbour wall."


def _suspend(person: User) -> None:
    """What an operator does in the admin: they may read, not speak (accounts/suspension.py)."""
    User.objects.filter(pk=person.pk).update(suspended_until=timezone.now() + timedelta(days=1))


def _lift(person: User) -> None:
    User.objects.filter(pk=person.pk).update(suspended_until=None)


Fate = Callable[[int, dict[str, Any]], str]  # (which socket of the page, 0 first; the frame) → what becomes of it


class Astray(Wire):
    """The page's socket, where what the server says after the page's `send` goes as `fate` says: "pass",
    "drop", "hold" (until `release()`) or "close" (the page's side drops, and the frame is lost)."""

    def __init__(self, page: Page, fate: Fate) -> None:
        super().__init__(page)
        self.held: list[tuple[WebSocketRoute, str]] = []
        self.releasing = False

        def on_answer(page_side: WebSocketRoute, frame: dict[str, Any]) -> bool:
            if not self.frames("send"):
                return True
            what = "pass" if self.releasing else fate(self.routes.index(page_side), frame)
            if what == "hold":
                self.held.append((page_side, json.dumps(frame)))
            elif what == "close":
                page_side.close(code=1011, reason="dropped")
            return what == "pass"

        self.on_answer = on_answer

    def client_id(self) -> str:
        return self.frames("send")[0]["client_id"]

    def brings_it(self, frame: dict[str, Any]) -> bool:
        """The message sent, as its echo or a resume's answer brings it."""
        return frame.get("type") == "message.new" and frame["message"]["client_id"] == self.client_id()

    def resumes_after_the_send(self) -> int:
        return len(
            [frame for frame in self.sent[self.sent.index(self.frames("send")[0]) :] if frame["type"] == "resume"]
        )

    def release(self) -> None:
        self.releasing = True
        for page_side, message in self.held:
            self.give(page_side, message)
        self.held.clear()


def _refused_as_expected(contexts: Contexts, page: Page, url: str) -> None:
    """The API's 403 to the page's script is the refusal under test: not a problem of the page."""
    for context, problems in contexts.opened:
        if context is page.context:
            problems.errors.remove(f"403 for fetch {url}")
            problems.document_4xx.add(url)


def _send_and_see_it_refused(lark: Page, contexts: Contexts, send: Callable[[], None], person: User) -> None:
    """`send` ends in the page's resend through the API, which reaches the server once `person` was suspended
    (after the socket stored the message)."""

    def suspended_first(route: Route, request: Request) -> None:
        if _is_send_post(request):
            _suspend(person)
        route.fallback()

    lark.route("**/messages", suspended_first)
    with lark.expect_response(lambda response: _is_send_post(response.request), timeout=15_000) as answered:
        send()
    lark.unroute("**/messages", suspended_first)
    assert answered.value.status == 403
    assert answered.value.json()["code"] == "suspended"
    _refused_as_expected(contexts, lark, answered.value.url)


def _expect_sent_once(lark: Page, composer: str = "") -> None:
    expect(lark.locator(".bubble.mine", has_text=TEXT)).to_have_count(1)
    expect(lark.locator(".bubble.pending, .bubble.failed")).to_have_count(0)
    expect(lark.locator("#composer-error")).to_be_hidden()
    expect(lark.locator("#chat-text")).to_have_value(composer)
    assert Message.objects.filter(text=TEXT).count() == 1


def _expect_refused(lark: Page, text: str = TEXT) -> None:
    expect(lark.locator("#composer-error")).to_contain_text("Your account is suspended")
    expect(lark.locator("#chat-text")).to_have_value(text)  # put back, as for any refusal
    expect(lark.locator(".bubble.mine", has_text=TEXT)).to_have_count(0)


def _silent_after_the_send(socket: int, frame: dict[str, Any]) -> str:
    return "hold"  # the socket stays open and says nothing, until released


def _drops_then_silent(socket: int, frame: dict[str, Any]) -> str:
    # The first socket drops when the answer would have come; the next one signs in only when released.
    if socket == 0:
        return "close" if frame.get("type") == "sent" else "drop"
    return "hold"


@pytest.mark.parametrize(
    ("comes", "composer"), [("by its echo", "untouched"), ("by its echo", "changed"), ("by a resume", "untouched")]
)
def test_the_message_coming_after_the_refusal_shows_it_sent(
    asgi_live_server, signed_in, contexts: Contexts, shot, comes, composer
) -> None:
    slug = f"{comes.split()[-1]}{composer[:2]}"
    _author, knocker, conversation = talking(f"quay{slug}", f"tern{slug}")
    url = f"/chats/{conversation.public_id}"
    lark = signed_in(knocker)
    wire = Astray(lark, _silent_after_the_send if comes == "by its echo" else _drops_then_silent)
    _open_chat(lark, url, wire)

    _send_and_see_it_refused(lark, contexts, lambda: _type_and_send(lark, TEXT), knocker)
    _expect_refused(lark)
    shot(lark, f"chat-refused-resend-01-refused-{slug}", full_page=False)
    kept = TEXT
    if composer == "changed":
        kept = f"{TEXT} Low water at 6."
        lark.locator("#chat-text").fill(kept)

    wire.release()
    _expect_sent_once(lark, composer=kept if composer == "changed" else "")
    shot(lark, f"chat-refused-resend-02-sent-after-all-{slug}", full_page=False)
    assert any(wire.brings_it(frame) for frame in wire.delivered)
    if comes == "by a resume":
        assert wire.resumes_after_the_send() >= 1


def test_a_sticker_marked_not_sent_becomes_sent_when_it_comes(
    asgi_live_server, signed_in, contexts: Contexts, media_root, shot
) -> None:
    _author, knocker, conversation = talking("quaysticker", "ternsticker")
    sticker_create(owner=knocker, image=png((300, 300)), caption="anchor")
    lark = signed_in(knocker)
    wire = Astray(lark, _silent_after_the_send)
    _open_chat(lark, f"/chats/{conversation.public_id}", wire)
    lark.get_by_role("button", name="Stickers").tap()
    send = lark.get_by_role("button", name="Send “anchor”")
    expect(send).to_be_visible()

    _send_and_see_it_refused(lark, contexts, send.tap, knocker)
    failed = lark.locator(".bubble.mine.failed .bubble-sticker")
    expect(failed).to_have_count(1)
    expect(lark.locator("#composer-error")).to_contain_text("Your account is suspended")
    shot(lark, "chat-refused-resend-03-sticker-refused", full_page=False)

    wire.release()
    expect(lark.locator(".bubble.mine .bubble-sticker")).to_have_count(1)
    expect(lark.locator(".bubble.pending, .bubble.failed")).to_have_count(0)
    expect(lark.locator("#composer-error")).to_be_hidden()
    shot(lark, "chat-refused-resend-04-sticker-sent-after-all", full_page=False)
    assert Message.objects.filter(sender=knocker, kind="sticker").count() == 1


@pytest.mark.parametrize("comes", ["by its echo", "by a resume"])
def test_the_message_coming_before_the_refusal_stays_sent(
    asgi_live_server, signed_in, contexts: Contexts, shot, comes
) -> None:
    slug = comes.split()[-1]
    author, knocker, conversation = talking(f"pier{slug}", f"skua{slug}")
    url = f"/chats/{conversation.public_id}"
    owl = signed_in(author)
    owl.goto(url)
    lark = signed_in(knocker)
    wire: Astray
    if comes == "by its echo":
        # Only the answer is lost: the echo shows the message, and 5 s later the page sends it again.
        wire = Astray(lark, lambda socket, frame: "drop" if frame.get("type") == "sent" else "pass")
    else:
        # The socket drops before answering: the page sends it again at once, and that answer is held until the
        # next socket's resume brought the message.
        wire = Astray(
            lark, lambda socket, frame: ("close" if frame.get("type") == "sent" else "drop") if socket == 0 else "pass"
        )
    resends: list[Route] = []
    lark.route("**/messages", lambda route: resends.append(route) if _is_send_post(route.request) else route.fallback())
    _open_chat(lark, url, wire)

    _type_and_send(lark, TEXT)
    _wait_for(lark, lambda: bool(resends))
    expect(lark.locator(".bubble.mine:not(.pending)", has_text=TEXT)).to_have_count(1)
    _suspend(knocker)  # the held resend goes straight on: suspended before it does
    _send_and_see_it_refused(lark, contexts, resends[0].continue_, knocker)
    # Something after the refusal, to know the page has read it: the owl answers.
    _type_and_send(owl, "Thanks, found them.")
    expect(lark.locator(".bubble:not(.mine)").last).to_contain_text("Thanks, found them.")
    _expect_sent_once(lark)
    shot(lark, f"chat-refused-resend-05-came-first-{slug}", full_page=False)


@pytest.mark.parametrize("lost", ["everything", "the answer and the echo"])
def test_the_message_never_coming_leaves_the_refusal_unless_a_resume_finds_it(
    asgi_live_server, signed_in, contexts: Contexts, shot, lost
) -> None:
    """The echo never comes. With the socket silent from the send on, the page can't know better than the
    refusal: the words stay in the composer. When only the answer and the echo were lost, the page asks (a
    resume) after the refusal, and shows the message the server holds."""
    slug = "all" if lost == "everything" else "echo"
    _author, knocker, conversation = talking(f"jetty{slug}", f"auk{slug}")
    url = f"/chats/{conversation.public_id}"
    lark = signed_in(knocker)
    echoes: list[dict[str, Any]] = []

    def fate(socket: int, frame: dict[str, Any]) -> str:
        if lost == "everything" or frame.get("type") == "sent":
            return "drop"
        if wire.brings_it(frame) and not echoes:  # the first to bring it is its echo; a resume's answer passes
            echoes.append(frame)
            return "drop"
        return "pass"

    wire = Astray(lark, fate)
    _open_chat(lark, url, wire)

    _send_and_see_it_refused(lark, contexts, lambda: _type_and_send(lark, TEXT), knocker)
    if lost == "everything":
        _expect_refused(lark)
        lark.wait_for_timeout(2000)  # nothing comes: it stays so
        _expect_refused(lark)
        shot(lark, "chat-refused-resend-06-never-came", full_page=False)
    else:
        _expect_sent_once(lark)
        assert len(echoes) == 1  # lost; the page asked after the refusal, and the answer brought it
        assert wire.resumes_after_the_send() == 1
        shot(lark, "chat-refused-resend-07-found-by-a-resume", full_page=False)
    assert Message.objects.filter(text=TEXT).count() == 1


def test_words_put_back_and_sent_again_unchanged_are_stored_once(
    asgi_live_server, signed_in, contexts: Contexts, shot
) -> None:
    """Ensure that the words put back by the refusal, sent again as they are before the first message's echo came,
    go with its client_id: the server answers with the message it stored, one bubble, stored once."""
    _author, knocker, conversation = talking("quayagain", "ternagain")
    lark = signed_in(knocker)
    wire = Astray(lark, _silent_after_the_send)
    _open_chat(lark, f"/chats/{conversation.public_id}", wire)

    _send_and_see_it_refused(lark, contexts, lambda: _type_and_send(lark, TEXT), knocker)
    _expect_refused(lark)
    _lift(knocker)
    with lark.expect_response(lambda response: _is_send_post(response.request), timeout=15_000) as answered:
        lark.locator("#chat-text").press("Enter")  # the socket stays silent: the page asks the API after 5 s
    assert answered.value.status == 200  # a resend's answer: the message stored by the socket
    _expect_sent_once(lark)
    shot(lark, "chat-refused-resend-08-sent-again-unchanged", full_page=False)
    assert len({frame["client_id"] for frame in wire.frames("send")}) == 1
