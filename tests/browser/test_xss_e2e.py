"""The XSS corpus rendered in Chromium on a phone: not one payload runs, and every one is shown as text.

`tests/xss_corpus.py` plants the 280 payloads of tests/data/xss_payloads.txt in every place user text is shown.
Each page that shows them is opened on a 390×844 phone and watched for what a payload would do if it ran: a
dialog (`alert`), an `XSS-<n>` console line, `window.__xss` set, a Content-Security-Policy violation (the
`contexts` fixture fails the test on any console error). The DOM is searched for what a payload would have to
leave behind to run later (an `on…` attribute, a `javascript:` or `data:` link, a script without the page's
nonce, a frame). Every planted value must be found, as text, on the pages visited.
"""

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from playwright.sync_api import ConsoleMessage, Dialog, Page

from chat import services as chat_services
from chat.models import Conversation
from tests.browser.conftest import Contexts, SignIn, htmx_settled
from tests.browser.threads import OwnThread
from tests.xss_corpus import Planted, packed, payloads, plant

# What a payload would leave in the DOM to run later, and what the page's own markup never holds.
DOM_AUDIT = """() => {
  const found = [];
  const risky = /^(javascript|vbscript|data):/;
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      const name = attribute.name.toLowerCase();
      if (name.startsWith("on") || name.startsWith("hx-on") || name === "srcdoc" || name === "x-init") {
        found.push(`${element.tagName} ${name}=${attribute.value}`);
      }
      if (["href", "src", "action", "formaction", "xlink:href", "data", "background", "poster"].includes(name)) {
        const value = attribute.value.replace(/[\\u0000-\\u0020\\u007f-\\u00a0\\u2028\\u2029\\ufeff]/g, "").toLowerCase();
        if (risky.test(value)) found.push(`${element.tagName} ${name}=${attribute.value}`);
      }
    }
  }
  for (const script of document.querySelectorAll("script")) {
    if (!script.nonce) found.push(`SCRIPT without nonce: ${script.outerHTML.slice(0, 80)}`);
  }
  for (const tag of ["iframe", "object", "embed", "base", "frame", "frameset", "math", "template", "noscript"]) {
    for (const element of document.getElementsByTagName(tag)) found.push(`<${tag}> ${element.outerHTML.slice(0, 80)}`);
  }
  for (const element of document.querySelectorAll("meta[http-equiv]")) found.push(`META ${element.outerHTML}`);
  if (window.__xss !== undefined) found.push(`window.__xss = ${window.__xss}`);
  return found;
}"""


def _canonical(text: str) -> str:
    """Text with what the services or the layout may change taken out: width normalised, no spaces, no controls."""
    return "".join(
        char
        for char in unicodedata.normalize("NFKC", text)
        if not char.isspace() and unicodedata.category(char)[0] != "C"
    )


@dataclass
class Watch:
    """What the payloads would have done on the pages visited, and what text those pages showed."""

    dialogs: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)
    dom: list[str] = field(default_factory=list)
    policies: set[str] = field(default_factory=set)
    shown: list[str] = field(default_factory=list)
    visited: int = 0

    def on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message} at {dialog.page.url if dialog.page else '?'}")
        dialog.dismiss()

    def on_console(self, message: ConsoleMessage) -> None:
        if re.search(r"XSS-\d+", message.text):
            self.markers.append(message.text)

    def watch(self, page: Page) -> Page:
        page.on("dialog", self.on_dialog)
        page.on("console", self.on_console)
        return page

    def visit(self, page: Page, url: str, *, follow_more: bool = False) -> None:
        """Open `url` (and, with `follow_more`, every further page of its list) and look it over."""
        while True:
            response = page.goto(url)
            assert response is not None, url
            assert response.status == 200, (url, response.status)
            self.policies.add(response.headers.get("content-security-policy", ""))
            # Not "networkidle": that waits out 500 ms of quiet on each of the hundred-odd pages (61 s of this test)
            htmx_settled(page)
            self.visited += 1
            self.dom.extend(f"{url}: {problem}" for problem in page.evaluate(DOM_AUDIT))
            self.shown.append(_canonical(page.evaluate("document.body.textContent")))
            more = page.locator("li.more[hx-get]")
            if not follow_more or not more.count():
                return
            url = str(more.first.get_attribute("hx-get"))

    def seen(self, value: str) -> bool:
        wanted = _canonical(value)
        return any(wanted in text for text in self.shown)


@pytest.fixture
def planted(settings, media_root) -> Planted:
    settings.RATE_LIMITS = {scope: (10**6, window) for scope, (_limit, window) in settings.RATE_LIMITS.items()}
    return off_the_loop(plant)


def off_the_loop[T](call: Callable[[], T]) -> T:
    """Run `call` in a thread of its own: events announced after commit can't run where Playwright's loop runs."""
    with OwnThread() as pool:
        return pool.submit(call).result()


def test_no_payload_runs_on_any_page(planted: Planted, asgi_live_server: str, signed_in: SignIn, shot) -> None:
    """Ensure that none of the corpus executes anywhere it is shown, and that all of it is shown, as text."""
    watch = Watch()
    page = watch.watch(signed_in(planted.viewer))

    watch.visit(page, reverse("interests:explore") + "?sort=new", follow_more=True)
    for channel in planted.channels:
        if channel.description or channel.rule:
            watch.visit(page, reverse("interests:channel", args=[channel.public_id]))
    shot(page, "xss-01-channel")
    for channel in planted.post_channels.values():
        watch.visit(page, reverse("interests:channel", args=[channel.public_id]), follow_more=True)
    shot(page, "xss-02-polls")
    watch.visit(page, reverse("interests:settings", args=[planted.post_channels["text"].public_id]))
    watch.visit(page, reverse("interests:channel", args=[planted.punch_channel.public_id]))
    watch.visit(page, reverse("chat:chats"))
    shot(page, "xss-03-chats")
    watch.visit(page, reverse("chat:conversation", args=[planted.group_chat_id]))
    shot(page, "xss-04-messages", full_page=False)
    watch.visit(page, reverse("chat:conversation", args=[planted.knock_chat_id]))
    watch.visit(page, reverse("stickers:mine"))
    shot(page, "xss-05-stickers", full_page=False)
    watch.visit(page, reverse("moderation:ops_queue"))
    for channel in planted.channels[: len(planted.places["report text"])]:
        watch.visit(page, reverse("moderation:ops_target", args=["channel", channel.public_id]))
    shot(page, "xss-06-report")
    quiet = watch.watch(signed_in(planted.suspended))
    watch.visit(quiet, reverse("core:home"))
    shot(quiet, "xss-07-suspended", full_page=False)

    assert watch.dialogs == []
    assert watch.markers == []
    assert watch.dom == []
    assert watch.policies
    assert all(
        "unsafe-inline" not in policy and "unsafe-eval" not in policy and "'nonce-" in policy
        for policy in watch.policies
    )
    unseen = {
        place: [value[:60] for value in values if not watch.seen(value)] for place, values in planted.places.items()
    }
    assert {place: values for place, values in unseen.items() if values} == {}
    assert len(payloads()) >= 200


def test_live_chat_messages_render_as_text(planted: Planted, asgi_live_server: str, contexts: Contexts) -> None:
    """Ensure that messages arriving over the WebSocket (drawn by chat.js, not by a template) never run either."""
    from tests.factories import PASSWORD

    watch = Watch()
    page = watch.watch(contexts.new().new_page())
    page.goto("/login")
    page.locator("#id_login").fill(planted.viewer.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    page.wait_for_url(lambda url: "/login" not in url)  # the login's own navigation would abort the next goto
    conversation = Conversation.objects.get(public_id=planted.knock_chat_id)
    off_the_loop(lambda: chat_services.conversation_accept(user=planted.viewer, conversation=conversation))
    watch.visit(page, reverse("chat:conversation", args=[planted.knock_chat_id]))
    page.wait_for_function("() => document.querySelector('#messages, .messages, main')")
    author = conversation.participants.exclude(user=planted.viewer).get().user
    texts = packed(payloads(), 2000, separator="\n")

    def send_all() -> None:
        for number, text in enumerate(texts):
            chat_services.message_send(sender=author, conversation=conversation, text=text, client_id=f"live-{number}")

    off_the_loop(send_all)
    last = texts[-1].split("\n")[-1]
    page.wait_for_function(
        "needle => document.body.textContent.replace(/\\s+/g, '').includes(needle)", arg=re.sub(r"\s+", "", last[:30])
    )
    watch.dom.extend(page.evaluate(DOM_AUDIT))
    watch.shown.append(_canonical(page.evaluate("document.body.textContent")))
    assert watch.dialogs == []
    assert watch.markers == []
    assert watch.dom == []
    assert all(watch.seen(text) for text in texts)
