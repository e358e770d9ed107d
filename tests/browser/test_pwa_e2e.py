"""The installable app in Chromium on a phone: manifest, service worker, what the phone keeps, offline, updates,
and the notifications switch."""

import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from playwright.sync_api import BrowserContext, Page, expect
from playwright.sync_api import Error as PlaywrightError

from chat import services
from posts.services import post_create_text
from push.models import PushSubscription
from tests import test_push
from tests.browser.threads import OwnThread
from tests.factories import PASSWORD, make_channel, make_user
from tests.test_push import Browser as PushBrowser

# The fake push service and the server's VAPID keys, as the HTTP-level push tests have them.
push_service = test_push.push_service
server_keys = test_push.server_keys

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


def wait_until(page: Page, script: str, *, seconds: float = 15) -> None:
    """Poll `script` (an async function, evaluated in the page, where its promise is awaited) until it is true."""
    for _ in range(int(seconds * 10)):
        try:
            if page.evaluate(script):
                return
        except PlaywrightError as error:
            if "Execution context was destroyed" not in error.message:
                raise  # anything but "the page was navigating meanwhile": ask again then
        page.wait_for_timeout(100)
    state = page.evaluate(
        """async () => {
            const r = await navigator.serviceWorker.getRegistration();
            return { url: location.href, registered: !!r, active: r && r.active && r.active.state,
                     installing: !!(r && r.installing), waiting: !!(r && r.waiting), caches: await caches.keys() };
        }"""
    )
    raise AssertionError(f"never true: {script} ({state})")


def controlled(page: Page) -> None:
    """Wait until the service worker is active and controls this page. It claims the open pages when it first
    activates; a page whose navigation began before that (the one after logging in, often) is not among
    them, as in any browser: the next page load is."""
    wait_until(page, "async () => (await navigator.serviceWorker.getRegistration())?.active?.state === 'activated'")
    if not page.evaluate("() => navigator.serviceWorker.controller !== null"):
        page.reload()
    wait_until(page, "() => navigator.serviceWorker.controller !== null")


def a_conversation(owner_name: str = "nightowl", knocker_name: str = "lark") -> tuple[Any, Any, Any]:
    author = make_user(username=owner_name, email=f"{owner_name}@example.org")
    post = post_create_text(author=author, channel=make_channel(host=author), text="3:12 and awake again.")
    knocker = make_user(username=knocker_name, email=f"{knocker_name}@example.org")
    with OwnThread() as pool:  # events can't be announced where Playwright's loop runs
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
    "Try again" asks for the page again, and the real page comes back once the phone is online."""
    author, _knocker, conversation = a_conversation()
    page = signed_in(author)
    controlled(page)
    wait_until(page, "async () => (await caches.keys()).some((name) => name.startsWith('same-shell-'))")
    context: BrowserContext = page.context

    contexts.set_offline(context, True)
    page.goto(f"/chats/{conversation.public_id}")
    expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
    assert page.url.endswith(f"/chats/{conversation.public_id}")
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") in {"rgb(246, 243, 238)"}
    shot(page, "pwa-02-offline")

    # "Try again" while still offline: the page is asked for again, and the worker answers offline again.
    page.evaluate("window.__beforeRetry = true")
    page.get_by_role("button", name="Try again").tap()
    wait_until(page, "() => window.__beforeRetry === undefined && document.readyState === 'complete'")
    expect(page.get_by_role("heading", name="You're offline")).to_be_visible()

    # Back online, the offline page retries on its own.
    contexts.set_offline(context, False)
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
    wait_until(page, "async () => (await caches.keys()).join() === 'same-shell-next-release'")
    expect(page.locator("[data-update-bar]")).to_be_hidden()
    page.wait_for_timeout(500)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # reloaded once, not in a loop


# Headless Chromium has no push service to subscribe with (PushManager.subscribe talks to Google's, which a
# test machine can't reach). So the browser's PushManager is replaced by one that hands out a subscription
# to the test's own push service, with keys the test made: everything else is real — the switch, the
# permission prompt, the API call, the task, the encrypted request, and the worker showing the notification.
FAKE_PUSH_MANAGER = """(() => {
    const fake = %s;
    let current = null;
    window.__permissionAsked = 0;
    const ask = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = (...args) => { window.__permissionAsked += 1; return ask(...args); };
    PushManager.prototype.subscribe = async function (options) {
        window.__subscribedWith = { userVisibleOnly: options.userVisibleOnly, key: Array.from(new Uint8Array(options.applicationServerKey)) };
        current = {
            endpoint: fake.endpoint,
            toJSON: () => ({ endpoint: fake.endpoint, expirationTime: null, keys: fake.keys }),
            unsubscribe: async () => { current = null; return true; },
        };
        return current;
    };
    PushManager.prototype.getSubscription = async function () { return current; };
})();"""


def test_notifications_switch_subscribes_and_the_worker_shows_what_arrives(
    asgi_live_server, contexts, push_service, server_keys, settings, shot
):
    """Ensure that the switch on Me asks for permission only when tapped, registers this browser through the
    API, that a message request then reaches the push service encrypted for this browser, that the worker
    shows it as "New message request", and that turning it off removes the subscription."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    author = make_user(username="nightowl")
    knocker = make_user(username="lark")
    post = post_create_text(author=author, channel=make_channel(host=author), text="awake again")
    phone = PushBrowser.new(push_service)

    context = contexts.new(permissions=["notifications"])
    context.add_init_script(FAKE_PUSH_MANAGER % json.dumps({"endpoint": phone.endpoint, "keys": phone.keys}))
    page = context.new_page()
    page.goto("/login")
    page.locator("#id_login").fill(author.username)
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").tap()
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    controlled(page)

    page.goto("/me")
    switch = page.locator("[data-push-toggle]")
    expect(switch).to_have_text("Turn on")
    expect(switch).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("window.__permissionAsked") == 0  # nothing asked on opening the page
    switch.tap()
    expect(switch).to_have_attribute("aria-pressed", "true")
    expect(switch).to_have_text("Turn off")
    expect(page.locator("[data-push-status]")).to_contain_text("never their words")
    shot(page, "pwa-04-me-notifications-on")
    assert page.evaluate("window.__permissionAsked") == 1
    subscribed_with = page.evaluate("window.__subscribedWith")
    assert subscribed_with["userVisibleOnly"] is True
    assert bytes(subscribed_with["key"]) == server_keys.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    assert list(PushSubscription.objects.values_list("user__username", "endpoint")) == [("nightowl", phone.endpoint)]

    with OwnThread() as pool:
        conversation, _sent = pool.submit(
            services.conversation_knock, sender=knocker, post=post, text="secret words", client_id="k1"
        ).result()
    assert len(push_service.received) == 1
    payload = phone.decrypt(push_service.received[0].body)
    assert payload["body"] == "New message request"

    # Hand what the push service received to the worker, as Chromium does when a push arrives.
    cdp = context.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = 50
    while not registrations and deadline:
        page.wait_for_timeout(100)
        deadline -= 1
    registration_id = next(r["registrationId"] for r in registrations if not r["isDeleted"])
    shown_one = "async () => (await (await navigator.serviceWorker.ready).getNotifications()).length === 1"
    for attempt in range(3):
        # Once, at load 15, a push handed over through CDP was not shown within 15 s (cause not found); a push
        # service delivers again when not acknowledged, and so does this (the same tag replaces: still one).
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": asgi_live_server, "registrationId": registration_id, "data": json.dumps(payload)},
        )
        try:
            wait_until(page, shown_one, seconds=10)
            break
        except AssertionError:
            if attempt == 2:
                raise
    shown = page.evaluate(
        """navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list =>
            list.map(n => ({ title: n.title, body: n.body, tag: n.tag, url: n.data.url })))"""
    )
    assert shown == [
        {
            "title": "same",
            "body": "New message request",
            "tag": f"conversation-{conversation.public_id}",
            "url": f"/chats/{conversation.public_id}",
        }
    ]

    switch.tap()
    expect(switch).to_have_attribute("aria-pressed", "false")
    expect(switch).to_have_text("Turn on")
    assert not PushSubscription.objects.exists()


def test_without_a_push_service_the_switch_says_so(signed_in, contexts):
    """The real PushManager of this Chromium (an incognito profile: Chromium refuses push there, as it would
    without a push service): the switch asks, fails, and says so next to it; nothing is stored."""
    page = signed_in(make_user(), permissions=["notifications"])
    controlled(page)
    page.goto("/me")
    switch = page.locator("[data-push-toggle]")
    switch.tap()
    expect(page.locator("[data-push-status]")).to_have_text(
        "This browser couldn’t turn notifications on. Try again later."
    )
    expect(switch).to_be_enabled()
    assert not PushSubscription.objects.exists()
    # Chromium logs why it refused; that is the expected refusal, not a fault of the page.
    problems = contexts.opened[-1][1]
    refusals = [text for text, _url in problems.console if "does not support the Push API" in text]
    assert refusals
    problems.console[:] = [entry for entry in problems.console if entry[0] not in refusals]
