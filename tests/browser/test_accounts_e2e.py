"""A person's way through accounts, in a real browser on a phone (and once on a computer): they tap
and type, and read what the pages and their inbox say back. Screenshots land in
test-artifacts/screenshots/."""

import json
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from accounts.models import User
from tests.browser.conftest import COMPUTER, DESKTOP, htmx_settled

NEW_EMAIL = "fern@example.org"
NEW_USERNAME = "quiet_fern"
NEW_PASSWORD = "moss grows slowly here"
WRONG_DETAILS = "Those details don't match an account."


def path_is(path: str) -> re.Pattern[str]:
    # A redirect keeps the fragment of the page it came from (/me/profile#id_timezone → /me#id_timezone).
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?[^#]*)?(#.*)?$")


def log_in(page: Page, login: str, password: str, *, touch: bool = True) -> None:
    page.locator("#id_login").fill(login)
    page.locator("#id_password").fill(password)
    button = page.get_by_role("button", name="Log in")
    if touch:
        button.tap()
    else:
        button.click()


def expect_home(page: Page) -> Locator:
    """Signed in, on Home: the tab bar is there, with Home lit. Returns the tab bar."""
    expect(page).to_have_url(path_is("/"))
    tabs = page.get_by_role("navigation", name="Main")
    expect(tabs).to_be_visible()
    for name in ("Home", "Explore", "Chats", "Me"):
        expect(tabs.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(tabs.get_by_role("link", name="Home", exact=True)).to_have_attribute("aria-current", "page")
    return tabs


def field_of(page: Page, input_id: str) -> Locator:
    """The block of one form field: its label, input, errors and help."""
    return page.locator(".field", has=page.locator(f"#{input_id}"))


def test_sign_up_confirm_settle_in_export_and_leave(new_page, shot, smtp_server, immediate_tasks, live_server):
    page = new_page(timezone_id="Europe/Paris")
    page.goto("/")
    expect(page.get_by_role("heading", name="Say what you feel. Find who feels the same.")).to_be_visible()
    shot(page, "journey-01-welcome")

    page.get_by_role("link", name="Join same").tap()
    expect(page).to_have_url(path_is("/signup"))
    # The name is checked as it is typed once htmx has processed the page: typed in full before that (the URL
    # changes as the page starts), no check would go out until the next keystroke.
    htmx_settled(page)
    page.locator("#id_email").fill(NEW_EMAIL)
    page.locator("#id_username").press_sequentially(NEW_USERNAME)
    expect(page.locator("#username-status")).to_contain_text(f"“{NEW_USERNAME}” is yours if you want it")
    page.locator("#id_password").fill(NEW_PASSWORD)
    shot(page, "journey-02-signup")
    page.get_by_role("button", name="Create my account").tap()

    expect(page).to_have_url(path_is("/signup/sent"))
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    expect(page.locator("main strong")).to_have_text(NEW_EMAIL)
    shot(page, "journey-03-inbox-sent")
    person = User.objects.get(username=NEW_USERNAME)
    assert person.email == NEW_EMAIL
    assert not person.email_verified
    assert person.timezone == "Europe/Paris", "sign-up stores the time zone the browser reports"

    [mail] = smtp_server.wait_for(to=NEW_EMAIL)
    link = mail.link("/verify/")
    assert link.startswith(live_server.url + "/verify/")
    page.goto(link)
    expect(page).to_have_url(path_is("/login"))
    expect(page.locator(".toast")).to_have_text("Your email is confirmed.")
    shot(page, "journey-04-login-confirmed")
    person.refresh_from_db()
    assert person.email_verified

    log_in(page, NEW_USERNAME, NEW_PASSWORD)
    tabs = expect_home(page)
    bar = tabs.bounding_box()
    assert bar is not None
    assert bar["y"] + bar["height"] == 844, "the tab bar sits at the bottom of the phone's screen"
    shot(page, "journey-05-home")

    tabs.get_by_role("link", name="Me", exact=True).tap()
    expect(page).to_have_url(path_is("/me"))
    expect(page.get_by_role("heading", name=NEW_USERNAME)).to_be_visible()
    expect(page.get_by_test_id("timezone")).to_contain_text("Europe/Paris")
    expect(tabs.get_by_role("link", name="Me", exact=True)).to_have_attribute("aria-current", "page")
    shot(page, "journey-06-me")
    # Scrolled to the end, the last control stands clear of the tab bar.
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    log_out = page.get_by_role("button", name="Log out").bounding_box()
    bar = tabs.bounding_box()
    assert log_out is not None
    assert bar is not None
    assert log_out["y"] + log_out["height"] <= bar["y"], "the tab bar covers the end of the page"
    shot(page, "journey-06b-me-scrolled-to-end", full_page=False)

    page.get_by_role("link", name=re.compile("^Time zone")).tap()
    expect(page).to_have_url(re.compile(r"/me/profile#id_timezone$"))
    expect(page.locator("#id_timezone")).to_have_value("Europe/Paris")
    page.locator("#id_timezone").select_option("Asia/Tokyo")
    shot(page, "journey-07-settings")
    page.get_by_role("button", name="Save").tap()
    expect(page).to_have_url(path_is("/me"))
    expect(page.locator(".toast")).to_have_text("Saved.")
    expect(page.get_by_test_id("timezone")).to_contain_text("Asia/Tokyo")
    shot(page, "journey-08-me-saved")
    person.refresh_from_db()
    assert person.timezone == "Asia/Tokyo"

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("^Download all my data")).tap()
    download = download_info.value
    assert re.fullmatch(r"same-export-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    export = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert export["account"]["username"] == NEW_USERNAME
    assert export["account"]["email"] == NEW_EMAIL
    assert export["account"]["timezone"] == "Asia/Tokyo"

    page.get_by_role("link", name=re.compile("^Delete my account")).tap()
    expect(page).to_have_url(path_is("/me/delete"))
    page.locator("#id_password").fill(NEW_PASSWORD)
    shot(page, "journey-09-delete")
    page.get_by_role("button", name="Delete my account for good").tap()
    expect(page.get_by_role("heading", name="Your account is gone")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    shot(page, "journey-10-goodbye")
    assert not User.objects.filter(pk=person.pk).exists()
    assert not User.objects.filter(email=NEW_EMAIL).exists()

    page.get_by_role("link", name="Back to the start").tap()
    page.get_by_role("link", name="I have an account").tap()
    log_in(page, NEW_USERNAME, NEW_PASSWORD)
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_role("alert")).to_have_text(WRONG_DETAILS)
    shot(page, "journey-11-login-after-delete")


def test_log_in_with_email_and_a_wrong_password(page, shot, user, password):
    page.goto("/login")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/login")) as sent:
        log_in(page, "maple@example.org", "not my password at all")
    assert sent.value.status == 400
    expect(page).to_have_url(path_is("/login"))
    expect(page.get_by_role("alert")).to_have_text(WRONG_DETAILS)
    # Nothing else: no field is blamed, nothing tells whether the account exists.
    expect(page.locator(".errorlist")).to_have_count(0)
    expect(page.locator(".field.invalid")).to_have_count(0)
    expect(page.locator(".toast")).to_have_count(0)
    expect(page.locator("#id_login")).to_have_value("maple@example.org")
    expect(page.locator("#id_password")).to_have_value("")
    shot(page, "login-wrong-password")

    log_in(page, "maple@example.org", password)
    tabs = expect_home(page)
    shot(page, "login-with-email-home")
    tabs.get_by_role("link", name="Me", exact=True).tap()
    expect(page.get_by_role("heading", name="maple")).to_be_visible()


def test_reset_a_forgotten_password(page, shot, user, smtp_server, immediate_tasks, live_server):
    new_password = "lanterns in the fog"
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").tap()
    expect(page).to_have_url(path_is("/password/reset"))
    page.locator("#id_email").fill("maple@example.org")
    shot(page, "reset-01-ask")
    page.get_by_role("button", name="Send me a link").tap()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shot(page, "reset-02-inbox-sent")

    [mail] = smtp_server.wait_for(to="maple@example.org")
    link = mail.link("/password/reset/")
    assert link.startswith(live_server.url + "/password/reset/")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.locator("#id_new_password").fill(new_password)
    shot(page, "reset-03-new-password")
    page.get_by_role("button", name="Save my new password").tap()

    expect(page).to_have_url(path_is("/login"))
    expect(page.locator(".toast")).to_have_text("Your password is changed. Log in with it.")
    shot(page, "reset-04-login")
    log_in(page, "maple", new_password)
    expect_home(page)

    response = page.goto(link)
    assert response is not None
    assert response.status == 400
    expect(page.get_by_role("heading", name="This link doesn't work")).to_be_visible()
    expect(page.get_by_role("alert")).to_have_text("This reset link is not valid any more. Ask for a new one.")
    expect(page.get_by_role("link", name="Send a new reset link")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").locator("[aria-current]")).to_have_count(0)
    shot(page, "reset-05-link-used")


def test_sign_up_errors_sit_next_to_their_fields(new_page, shot, user):
    page = new_page(color_scheme="dark")
    page.goto("/signup")
    page.locator("#id_email").fill(NEW_EMAIL)
    page.locator("#id_username").fill("MAPLE")
    page.locator("#id_password").fill("short")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/signup")) as sent:
        page.get_by_role("button", name="Create my account").tap()
    assert sent.value.status == 400

    expect(field_of(page, "id_username").locator(".errorlist")).to_have_text("This username is taken.")
    expect(field_of(page, "id_username")).to_have_class(re.compile(r"\binvalid\b"))
    expect(field_of(page, "id_password").locator(".errorlist")).to_contain_text("at least 8 characters")
    expect(field_of(page, "id_password")).to_have_class(re.compile(r"\binvalid\b"))
    expect(field_of(page, "id_email").locator(".errorlist")).to_have_count(0)
    expect(page.get_by_role("alert")).to_have_count(0)
    for input_id in ("id_username", "id_password"):
        # A screen reader reads the error with the field: what describes it exists on the page.
        field = page.locator(f"#{input_id}")
        expect(field).to_have_attribute("aria-invalid", "true")
        described_by = field.get_attribute("aria-describedby") or ""
        assert described_by
        for described in described_by.split():
            expect(page.locator(f"#{described}")).to_have_count(1)
    # What was typed stays, except the password.
    expect(page.locator("#id_email")).to_have_value(NEW_EMAIL)
    expect(page.locator("#id_username")).to_have_value("MAPLE")
    expect(page.locator("#id_password")).to_have_value("")
    shot(page, "signup-errors-dark")
    assert User.objects.count() == 1
    assert not User.objects.filter(email=NEW_EMAIL).exists()

    # Choosing another name replaces the complaint instead of leaving it beside the good news.
    page.locator("#id_username").fill("")
    page.locator("#id_username").press_sequentially("maple_leaf")
    expect(page.locator("#username-status")).to_have_text("✓ “maple_leaf” is yours if you want it")
    expect(field_of(page, "id_username")).not_to_contain_text("This username is taken.")
    page.locator("#id_password").focus()
    calm = page.locator("#id_email").evaluate("element => getComputedStyle(element).borderColor")
    expect(page.locator("#id_username")).to_have_css("border-color", calm)  # no more red
    shot(page, "signup-errors-dark-username-fixed")


def test_username_is_checked_while_typing(page, shot, user):
    page.goto("/signup")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    username = page.locator("#id_username")
    status = page.locator("#username-status")

    username.press_sequentially("willow_wind")
    expect(status).to_have_text("✓ “willow_wind” is yours if you want it")
    shot(page, "signup-username-free")

    username.fill("")
    username.press_sequentially("Maple")
    expect(status).to_have_text("This username is taken.")
    shot(page, "signup-username-taken")

    username.fill("")
    username.press_sequentially("ｍａｐｌｅ")  # full-width letters read as "maple" too
    expect(status).to_have_text("This username is taken.")

    expect(page).to_have_url(path_is("/signup"))
    assert posts == []
    assert User.objects.count() == 1


def test_a_computer_shows_a_side_rail(new_page, shot, user, password):
    page = new_page(**COMPUTER)
    page.goto("/login")
    log_in(page, "maple", password, touch=False)
    expect_home(page).get_by_role("link", name="Me", exact=True).click()
    expect(page).to_have_url(path_is("/me"))

    tabs = page.get_by_role("navigation", name="Main")
    expect(tabs).to_be_visible()
    rail = tabs.bounding_box()
    assert rail is not None
    assert (rail["x"], rail["y"], rail["height"]) == (0, 0, DESKTOP["height"]), "a rail down the left edge"
    assert rail["width"] < 300
    boxes = [
        tabs.get_by_role("link", name=name, exact=True).bounding_box() for name in ("Home", "Explore", "Chats", "Me")
    ]
    assert all(box is not None for box in boxes)
    xs = {round(box["x"]) for box in boxes if box}
    ys = [box["y"] for box in boxes if box]
    assert len(xs) == 1, "the tabs stand in one column"
    assert ys == sorted(ys), "Home, Explore, Chats, Me from top to bottom"
    main = page.locator("main").bounding_box()
    assert main is not None
    assert main["x"] >= rail["x"] + rail["width"], "the content starts right of the rail"
    shot(page, "desktop-me")

    dark = new_page(**COMPUTER, color_scheme="dark")
    dark.goto("/login")
    log_in(dark, "maple", password, touch=False)
    dark.goto("/me")
    expect(dark.get_by_role("heading", name="maple")).to_be_visible()
    shot(dark, "desktop-me-dark")
