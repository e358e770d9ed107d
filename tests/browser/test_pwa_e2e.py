"""The installable app in Chromium on a phone: manifest, service worker, what the phone keeps, offline, updates,
and the notifications switch."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from chat import services
from posts.services import post_create_text
from tests.factories import make_channel, make_user

READ_CACHES = """async () => {
    const found = {};
    for (const name of await caches.keys()) {
        const cache = await caches.open(name);
        found[name] = [];
        for (const request of await cache.keys()) {
            const response = await cache.match(request);
            found[name].push({ url: request.url, body: await response.clone().text() });
        }
    }
    return found;
}"""


def controlled(page: Page) -> None:
    """Wait until the service worker is active and controls this page (it claims it on first install)."""
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=15_000)


def a_conversation(owner_name: str = "nightowl", knocker_name: str = "lark") -> tuple[Any, Any, Any]:
    author = make_user(username=owner_name, email=f"{owner_name}@example.org")
    post = post_create_text(author=author, channel=make_channel(host=author), text="3:12 and awake again.")
    knocker = make_user(username=knocker_name, email=f"{knocker_name}@example.org")
    with ThreadPoolExecutor(1) as pool:  # events can't be announced where Playwright's loop runs
        conversation, _sent = pool.submit(
            services.conversation_knock, sender=knocker, post=post, text="the words only we should see", client_id="k1"
        ).result()
    return author, knocker, conversation


def test_installable_and_caches_only_the_shell(asgi_live_server, signed_in, contexts, shot, media_root):
    """Ensure that the manifest is linked and valid (Chromium finds the app installable), the worker controls
    the page, and after browsing private pages, the API and media, its caches hold only static files and the
    offline page, with nothing of the person in them."""
    author, _knocker, conversation = a_conversation()
    (media_root / "private.txt").write_text("a private file")
    page = signed_in(author)
    controlled(page)

    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"].endswith("/manifest.webmanifest")
    assert manifest["errors"] == []
    data = json.loads(manifest["data"])
    assert (data["name"], data["display"], data["scope"]) == ("same", "standalone", "/")
    installability = cdp.send("Page.getInstallabilityErrors")
    # Playwright's contexts are incognito profiles, which Chromium never installs from; nothing else may be wrong.
    errors = [error["errorId"] for error in installability["installabilityErrors"]]
    assert errors == ["in-incognito"]
    for icon in data["icons"]:
        answer = page.request.get(icon["src"])
        assert answer.status == 200
        assert answer.headers["content-type"] == "image/png"

    # Private things: pages, a conversation, the API, a media file, an htmx fragment.
    for path in ("/me", "/chats", f"/chats/{conversation.public_id}", "/discover", "/me/profile"):
        page.goto(path)
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    page.goto(f"/chats/{conversation.public_id}")
    expect(page.get_by_text("the words only we should see")).to_be_visible()
    fetched = page.evaluate(
        """async (id) => {
            const answers = await Promise.all([
                fetch("/api/v1/me"), fetch("/api/v1/conversations"), fetch(`/api/v1/conversations/${id}/messages`),
                fetch("/media/private.txt"), fetch("/chats/badge", { headers: { "HX-Request": "true" } }),
            ]);
            return answers.map((a) => a.status);
        }""",
        conversation.public_id,
    )
    assert fetched == [200, 200, 200, 200, 200]

    caches = page.evaluate(READ_CACHES)
    assert list(caches) == [next(name for name in caches if name.startswith("same-shell-"))]
    entries = next(iter(caches.values()))
    paths = sorted(entry["url"].removeprefix(contexts.base_url) for entry in entries)
    assert "/offline" in paths
    assert "/static/css/same.css" in paths
    assert "/static/icons/icon-512.png" in paths
    assert all(path == "/offline" or path.startswith("/static/") for path in paths), paths
    for entry in entries:
        for private in ("nightowl", "lark", "example.org", "the words only we should see", "a private file"):
            assert private not in entry["body"], (entry["url"], private)
    shot(page, "pwa-01-conversation")


def test_offline_shows_the_offline_page_and_retry_comes_back(asgi_live_server, signed_in, contexts, shot):
    """Ensure that, offline, a page that can't be reached shows "You're offline" (from the worker's cache),
    and "Try again" brings the real page back once the phone is online."""
    author, _knocker, conversation = a_conversation()
    page = signed_in(author)
    controlled(page)
    page.wait_for_function("caches.keys().then(names => names.some(n => n.startsWith('same-shell-')))")
    context: BrowserContext = page.context

    contexts.set_offline(context, True)
    page.goto(f"/chats/{conversation.public_id}")
    expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
    assert page.url.endswith(f"/chats/{conversation.public_id}")
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") in {"rgb(246, 243, 238)"}
    shot(page, "pwa-02-offline")

    contexts.set_offline(context, False)
    page.get_by_role("button", name="Try again").tap()
    expect(page.get_by_text("the words only we should see")).to_be_visible()


def test_a_waiting_new_version_offers_a_reload(signed_in, settings, shot):
    """Ensure that when a new worker is waiting (a new deploy), a quiet bar offers to reload; tapping it
    activates the new worker, reloads the page once, and the old cache is gone."""
    page = signed_in(make_user())
    controlled(page)
    first = page.evaluate("caches.keys()")
    assert len(first) == 1
    expect(page.locator("[data-update-bar]")).to_be_hidden()

    settings.PWA_VERSION = "next-release"
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    bar = page.locator("[data-update-bar]")
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("A new version of same is ready")
    shot(page, "pwa-03-update-bar", full_page=False)

    page.evaluate("window.__beforeReload = true")
    with page.expect_navigation():
        bar.get_by_role("button", name="Reload").tap()
    assert page.evaluate("window.__beforeReload === undefined")  # it did reload
    controlled(page)
    page.wait_for_function("caches.keys().then(names => names.length === 1 && names[0] === 'same-shell-next-release')")
    expect(page.locator("[data-update-bar]")).to_be_hidden()
    page.wait_for_timeout(500)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # reloaded once, not in a loop
