"""End-to-end tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

They run in their own pytest process, because Playwright's sync API and pytest-asyncio can't
share one:

    .venv/bin/python -m pytest -p no:asyncio tests/browser

Every page a test opens is watched: a console error, an uncaught exception, a Content-Security-
Policy violation (an inline style or script without the nonce shows up as one), a sub-resource
that fails to load or any 5xx response fails the test.
"""

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from django.urls import URLPattern
from django.views.static import serve
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    WebError,
    expect,
    sync_playwright,
)

from tests.factories import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A microphone, granted without asking, that says "good morning everyone" once (then silence): voice
    # messages and stickers can be recorded, and what is recorded can be recognised.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    f"--use-file-for-fake-audio-capture={Path(__file__).resolve().parent / 'fixtures' / 'good-morning-everyone.wav'}%noloop",
]
MOBILE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"viewport": MOBILE, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}
COMPUTER = {"viewport": DESKTOP, "is_mobile": False, "has_touch": False}
HERE = Path(__file__).resolve().parent
SCREENSHOTS = HERE.parents[1] / "test-artifacts" / "screenshots"
MISSING_CHROMIUM = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
RUN_ALONE = "browser tests run in their own process: .venv/bin/python -m pytest -p no:asyncio tests/browser"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    # With `-p no:asyncio`, pytest-asyncio's settings in pyproject.toml would warn as unknown
    # (and fail under --strict-config): name them here, for this process only.
    if not pluginmanager.has_plugin("asyncio"):
        parser.addini("asyncio_mode", "pytest-asyncio's mode (unused: pytest-asyncio is off here)")
        parser.addini("asyncio_default_fixture_loop_scope", "pytest-asyncio's loop scope (unused here)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in item.path.resolve().parents]
    for item in mine:
        item.add_marker(pytest.mark.browser)
    if not mine:
        return
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(MISSING_CHROMIUM)
        reason = MISSING_CHROMIUM
    elif config.pluginmanager.has_plugin("asyncio"):
        reason = RUN_ALONE
    else:
        return
    for item in mine:
        item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On SQLite, a database file instead of pytest-django's shared in-memory one: the live server, uvicorn
    and the test each write from their own thread, and the in-memory cache answers "database table is
    locked" at once where a file (WAL, busy_timeout) waits its turn, as the embedded default does."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3"):
        database.setdefault("TEST", {})["NAME"] = str(Path(tempfile.mkdtemp(prefix="same-browser-")) / "db.sqlite3")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running on the test thread, and Django refuses
    # database work from a thread with a running loop. Here that is the test's own, synchronous
    # code reading rows, so it is safe: allow it for this process, for as long as Playwright runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def _site_url(settings, live_server) -> None:
    """Links in emails point at the live server the browser talks to."""
    settings.SITE_URL = live_server.url


@dataclass
class PageProblems:
    """What went wrong in the pages of one browser context."""

    console: list[tuple[str, str]] = field(default_factory=list)  # (text, url)
    errors: list[str] = field(default_factory=list)
    document_4xx: set[str] = field(default_factory=set)
    worker_4xx: list[tuple[str, str]] = field(default_factory=list)  # (url, problem)
    offline_on_purpose: bool = False

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console.append((message.text, message.location.get("url", "")))

    def on_weberror(self, error: WebError) -> None:
        self.errors.append(f"uncaught {error.error}")

    def on_response(self, response: Response) -> None:
        kind = response.request.resource_type
        if response.status >= 500:
            self.errors.append(f"{response.status} for {kind} {response.url}")
        elif response.status >= 400:
            if kind == "document" or response.request.headers.get("hx-request") == "true":
                # A form sent back with its errors is a 400 page (or, for htmx, a 4xx fragment that
                # is swapped in): that's expected.
                self.document_4xx.add(response.url)
            elif kind == "fetch" and response.request.service_worker is not None:
                # The service worker fetching a page for the tab (network first): judged as that page is.
                self.worker_4xx.append((response.url, f"{response.status} for {kind} {response.url}"))
            elif kind == "fetch" and "/api/v1/" in response.url and response.status in {400, 409, 410, 413}:
                # A page's script sent a form to the API and shows the refusal next to the field; the test
                # checks what the person sees.
                self.document_4xx.add(response.url)
            else:
                self.errors.append(f"{response.status} for {kind} {response.url}")

    def found(self) -> list[str]:
        found = list(self.errors)
        found += [problem for url, problem in self.worker_4xx if url not in self.document_4xx]
        for text, url in self.console:
            if text.startswith("Failed to load resource") and url in self.document_4xx:
                continue  # Chromium logs the 400 of a page showing form errors; nothing is broken.
            if "net::ERR_INTERNET_DISCONNECTED" in text:
                continue  # a test took the phone offline on purpose
            if self.offline_on_purpose and text.startswith(("htmx:sendError", "htmx:afterRequest")):
                continue  # htmx reports the requests it couldn't send while the phone was offline
            found.append(f"console: {text} ({url})")
        return found


@dataclass
class Contexts:
    browser: Browser
    base_url: str
    opened: list[tuple[BrowserContext, PageProblems]] = field(default_factory=list)

    def new(self, **options: Any) -> BrowserContext:
        settings: dict[str, Any] = {**PHONE, "locale": "en-US", "base_url": self.base_url}
        settings.update(options)
        context = self.browser.new_context(**settings)
        context.set_default_timeout(10_000)
        problems = PageProblems()
        context.on("console", problems.on_console)
        context.on("weberror", problems.on_weberror)
        context.on("response", problems.on_response)
        self.opened.append((context, problems))
        return context

    def problems(self) -> list[str]:
        return [problem for _context, problems in self.opened for problem in problems.found()]

    def set_offline(self, context: BrowserContext, offline: bool) -> None:
        """Take a phone off the network (or back): what fails to load meanwhile is expected."""
        for opened, problems in self.opened:
            if opened is context and offline:
                problems.offline_on_purpose = True
        context.set_offline(offline)


@pytest.fixture
def contexts(browser: Browser, live_server) -> Iterator[Contexts]:
    """Opens browser contexts, a phone unless told otherwise (`contexts.new(**COMPUTER, color_scheme="dark")`).

    Each is checked for problems and closed after the test."""
    opened = Contexts(browser=browser, base_url=live_server.url)
    yield opened
    problems = opened.problems()
    for context, _problems in opened.opened:
        context.close()
    if problems:
        pytest.fail("The browser reported problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def new_page(contexts: Contexts) -> Callable[..., Page]:
    """A page in a fresh context of its own; keyword arguments go to `browser.new_context`."""

    def open_page(**options: Any) -> Page:
        return contexts.new(**options).new_page()

    return open_page


@pytest.fixture
def context(contexts: Contexts) -> BrowserContext:
    """A phone: 390×844, touch."""
    return contexts.new()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


# htmx (a deferred script) processes the page on DOMContentLoaded, so by the page's `load` it has bound every
# hx-trigger; what it then fetches (`load` and `intersect once` triggers) carries the `htmx-request` class until
# the answer is swapped in, and the swapped content `htmx-settling`/`htmx-added` until it settles. Looked at after
# two frames, so that an intersection observer has reported what is in view and its request has gone out.
# (A promise: `page.evaluate` awaits it, where `page.wait_for_function` would take it as true.)
HTMX_IDLE = """() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(() => resolve(
    window.htmx !== undefined
    && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")))))"""


def htmx_settled(page: Page, *, timeout: float = 10.0) -> None:
    """Wait until htmx has processed the page (its hx-triggers are live: typing now is heard) and what it fetched
    as the page opened is swapped in. After a navigation a locator is ready as soon as the HTML is parsed, which
    can be before htmx has bound the field's triggers."""
    page.wait_for_load_state("load")
    deadline = time.monotonic() + timeout
    while not page.evaluate(HTMX_IDLE):
        if time.monotonic() > deadline:
            pytest.fail(f"htmx still busy on {page.url} after {timeout} s", pytrace=False)


# For a full-page picture only, on a phone: the tab bar, fixed to the bottom of the screen, is
# drawn at the end of the page (where a person who scrolled down sees it), not over its first
# screen. Set through the CSSOM, which the Content-Security-Policy allows (a <style> it refuses).
PIN_TAB_BAR_TO_THE_END = """pin => {
    const tabs = document.querySelector(".tabs");
    if (!tabs || !matchMedia("(max-width: 899px)").matches) return;
    document.body.style.position = pin ? "relative" : "";
    tabs.style.position = pin ? "absolute" : "";
}"""


class Shot(Protocol):
    def __call__(self, page: Page, name: str, *, full_page: bool = True) -> Path: ...


@pytest.fixture
def shot(contexts: Contexts) -> Shot:
    """`shot(page, "name")`: a full-page screenshot at test-artifacts/screenshots/name.png
    (`full_page=False`: just what the screen shows).

    A full-page shot is taken from the top of the page (taken mid-scroll, Chromium would draw the
    sticky top bar in the middle of the picture), then the page scrolls back where it was.

    It also fails the test on the spot if the browser reported a problem so far, so the failure
    names the step where it happened.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Page, name: str, *, full_page: bool = True) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        if full_page:
            scrolled = page.evaluate("[window.scrollX, window.scrollY]")
            page.evaluate("window.scrollTo(0, 0)")
            page.evaluate(PIN_TAB_BAR_TO_THE_END, True)
            try:
                page.screenshot(path=str(path), full_page=True, animations="disabled")
            finally:
                page.evaluate(PIN_TAB_BAR_TO_THE_END, False)
                page.evaluate("([x, y]) => window.scrollTo(x, y)", scrolled)
        else:
            page.screenshot(path=str(path), full_page=False, animations="disabled")
        problems = contexts.problems()
        if problems:
            pytest.fail(f"At {name!r} the browser reported problems:\n" + "\n".join(problems), pytrace=False)
        return path

    return take


@pytest.fixture
def media_root(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploads of this test go to a folder of its own, and the live server serves them from there."""
    from same import urls

    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    # same/urls.py hands the media root to `serve` once, when the URLconf is imported: follow it.
    for pattern in urls.urlpatterns:
        if isinstance(pattern, URLPattern) and pattern.callback is serve:
            monkeypatch.setitem(pattern.default_args, "document_root", root)
    return root


class SignIn(Protocol):
    def __call__(self, user: Any, **options: Any) -> Page: ...


@pytest.fixture
def signed_in(contexts: Contexts) -> SignIn:
    """`signed_in(user)`: a phone of that person's own, logged in through the /login form, on Home."""

    def open_as(user: Any, **options: Any) -> Page:
        page = contexts.new(**options).new_page()
        page.goto("/login")
        page.locator("#id_login").fill(user.username)
        page.locator("#id_password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").tap()
        expect(page.get_by_role("navigation", name="Main")).to_be_visible()
        return page

    return open_as


@pytest.fixture
def asgi_live_server(live_server, contexts: Contexts, settings) -> Iterator[str]:
    """The app under uvicorn in a thread, for pages that need the WebSocket (pytest-django's live server
    speaks WSGI only). Pages opened through `contexts` go here; the database is the test database."""
    import socket
    import threading

    import uvicorn

    from core.ws_protocol import SharedFrameProtocol
    from same.asgi import application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            application,
            host="127.0.0.1",
            port=port,
            log_level="warning",
            lifespan="off",
            ws=SharedFrameProtocol,  # as `manage.py serve` runs it: Chromium must take its shared frames
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    contexts.base_url = url
    settings.SITE_URL = url
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1", "localhost"]
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
