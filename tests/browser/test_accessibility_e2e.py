"""axe-core, in Chromium on a phone, over every page a person sees: light and dark, English and Chinese.

axe-core (tests/browser/vendor/axe-core, MPL-2.0) is injected into each page; the audit's contexts
bypass the Content-Security-Policy for that script only (`bypass_csp=True`), which is why they are
opened for the audit alone. A `serious` or `critical` violation fails the test, named by rule and
element.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from accounts.models import User
from chat.attachments import message_send_sticker, message_send_voice
from chat.models import Conversation
from core.demo import DEMO_PASSWORD, seed
from interests.models import Channel
from posts.models import Post
from stickers.services import sticker_create
from tests.browser.conftest import Contexts, Shot
from tests.browser.threads import OwnThread
from tests.samples import png, voice_webm

AXE = (Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js").read_text()
COMBINATIONS = [
    {"color_scheme": "light", "locale": "en-US"},
    {"color_scheme": "dark", "locale": "en-US"},
    {"color_scheme": "light", "locale": "zh-CN"},
    {"color_scheme": "dark", "locale": "zh-CN"},
]
RUN_AXE = """async () => {
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations
        .filter(v => v.impact === "serious" || v.impact === "critical")
        .map(v => ({ id: v.id, impact: v.impact, help: v.help,
                     targets: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " :: " + n.failureSummary.replace(/\\s+/g, " ")) }));
}"""


def audit(page: Page, path: str, label: str) -> list[str]:
    """Open `path`, run axe-core on it and describe every serious or critical violation."""
    page.goto(path)
    page.wait_for_load_state("load")
    page.evaluate(AXE)
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [
        f"{label} {path}: [{v['impact']}] {v['id']} ({v['help']})\n    " + "\n    ".join(v["targets"]) for v in found
    ]


def world() -> dict[str, Any]:
    """The demo world, with an operator, a sticker and a voice message added: every kind of page has something."""
    people = seed().people
    demo: User = people["demo"]
    demo.is_staff = True  # the operator pages are audited with the same login
    demo.save(update_fields=["is_staff"])
    group = Conversation.objects.get(title="Night owls")
    one_to_one = Conversation.objects.filter(participants__user=demo, started_by=demo, kind="direct").first()
    assert one_to_one is not None
    voice = SimpleUploadedFile("v.webm", voice_webm(1.0), content_type="audio/webm")
    sticker = sticker_create(owner=demo, image=png((600, 600)), caption="hoot", audio=voice)
    message_send_sticker(sender=demo, conversation=group, sticker_id=sticker.public_id, client_id="a11y-1")
    audio = SimpleUploadedFile("m.webm", voice_webm(1.0), content_type="audio/webm")
    message_send_voice(sender=demo, conversation=one_to_one, audio=audio, client_id="a11y-2")
    channels = {channel.kind: channel for channel in Channel.objects.order_by("-created_at")}
    post = Post.objects.filter(channel=channels["text"], removed_at__isnull=True).first()
    assert post is not None
    request = Conversation.objects.filter(participants__user=demo, state="request").first()
    hosted = Channel.objects.filter(host=demo).first()
    pages = ["/", "/explore", "/discover", "/channels/new"]
    pages += [f"/c/{channel.public_id}" for channel in channels.values()]
    pages += [f"/c/{channels['punch'].public_id}/records", f"/p/{post.public_id}"]
    pages += ["/chats", f"/chats/{one_to_one.public_id}", f"/chats/{group.public_id}", "/chats/new-group"]
    pages += [f"/chats/{group.public_id}/members"]
    if request is not None:
        pages.append(f"/chats/{request.public_id}")
    if hosted is not None:
        pages.append(f"/c/{hosted.public_id}/settings")
    pages += ["/stickers", "/stickers/new", f"/stickers/{sticker.public_id}"]
    pages += ["/me", "/me/profile", "/me/email", "/me/password", "/me/delete", "/offline"]
    pages += ["/ops/reports", "/admin/dashboard/"]
    return {"pages": pages, "one_to_one": one_to_one, "group": group, "songs": channels["music"]}


def in_a_thread[T](work: Callable[..., T], **kwargs: Any) -> T:
    """Run `work` in a thread of its own: announcing messages can't run where Playwright's event loop runs."""
    with OwnThread() as pool:
        return pool.submit(work, **kwargs).result()


def sign_in_as_demo(page: Page) -> None:
    page.goto("/login")
    page.locator("#id_login").fill("demo")
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("#id_password").press("Enter")
    expect(page.locator("nav.tabs")).to_be_visible()


SIGNED_OUT = ["/", "/signup", "/login", "/password/reset", "/offline", "/no-such-page"]


@pytest.mark.parametrize("combination", COMBINATIONS, ids=[f"{c['color_scheme']}-{c['locale']}" for c in COMBINATIONS])
def test_no_serious_or_critical_violation_anywhere(
    contexts: Contexts, media_root, asgi_live_server, combination: dict[str, str]
) -> None:
    """Ensure that axe-core finds no serious or critical violation on any page, in this theme and language (one
    test each, so that the four audits can run side by side)."""
    pages = in_a_thread(world)["pages"]
    violations: list[str] = []
    label = f"[{combination['color_scheme']} {combination['locale']}]"
    context = contexts.new(bypass_csp=True, **combination)
    page = context.new_page()
    for path in SIGNED_OUT:
        violations += audit(page, path, label + " signed out")
    lang = "zh-hans" if combination["locale"] == "zh-CN" else "en"
    User.objects.filter(username="demo").update(language=lang)  # signed in, the person's setting wins
    sign_in_as_demo(page)
    expect(page.locator("html")).to_have_attribute("lang", lang)
    for path in pages:
        violations += audit(page, path, label)

    assert not violations, "axe-core found serious or critical violations:\n" + "\n".join(violations)


def test_audio_has_its_text_next_to_it(contexts: Contexts, media_root, asgi_live_server, shot: Shot) -> None:
    """Ensure that songs show their title and artist, voice messages say what they are and how long, and a
    sticker's voice shows its caption, beside the player: on the page as served and on a message arriving live."""
    things = in_a_thread(world)
    page = contexts.new().new_page()
    sign_in_as_demo(page)

    page.goto(f"/c/{things['songs'].public_id}")
    songs = page.locator(".song")
    expect(songs.first).to_be_visible()
    titles = songs.locator(".song-title").all_inner_texts()
    assert "Clair de lune" in titles
    assert "Weightless" in titles
    expect(songs.filter(has_text="Clair de lune")).to_contain_text("Claude Debussy")

    page.goto(f"/chats/{things['one_to_one'].public_id}")
    voice = page.locator(".bubble.kind-voice").last
    expect(voice.locator(".voice-length")).to_have_text("Voice message, 0:01")
    expect(voice.locator("audio")).to_have_attribute("aria-label", "Voice message, 0:01")

    # A voice message arriving over the WebSocket is drawn by chat.js: the same words beside it.
    owl = User.objects.get(username="night_owl")
    audio = SimpleUploadedFile("m.webm", voice_webm(2.0), content_type="audio/webm")
    in_a_thread(message_send_voice, sender=owl, conversation=things["one_to_one"], audio=audio, client_id="a11y-3")
    live = page.locator(".bubble.kind-voice:not(.mine)")
    expect(live.locator(".voice-length")).to_have_text("Voice message, 0:02", timeout=10_000)
    expect(live.locator("audio")).to_have_attribute("aria-label", "Voice message, 0:02")
    # Its words come later, from the task worker (tests/browser/test_chat_media_groups_e2e.py); meanwhile it says so.
    expect(live.locator(".voice-transcript")).to_have_text("Transcribing…")
    shot(page, "a11y-voice-message-text", full_page=False)

    page.goto(f"/chats/{things['group'].public_id}")
    sticker = page.locator(".bubble.kind-sticker").last
    expect(sticker.locator(".bubble-sticker")).to_have_attribute("aria-label", "hoot")
    expect(sticker.locator(".bubble-caption")).to_have_text("♪ hoot")

    zh = contexts.new(locale="zh-CN").new_page()
    User.objects.filter(username="demo").update(language="zh-hans")
    sign_in_as_demo(zh)
    zh.goto(f"/chats/{things['one_to_one'].public_id}")
    expect(zh.locator(".bubble.kind-voice.mine .voice-length")).to_have_text("语音消息，0:01")
    expect(zh.locator(".bubble.kind-voice.mine .voice-transcript")).to_have_text("正在转写文字…")


# Every element of the page that a style sheet rule animates or transitions, with what it computes to. The
# spinner and the recording dot only appear now and then: one of each is added to the page to be measured.
MOVING = """() => {
    const main = document.querySelector("main");
    const spinner = Object.assign(document.createElement("span"), { className: "spinner" });
    const recording = Object.assign(document.createElement("p"), { className: "recording" });
    recording.append(Object.assign(document.createElement("span"), { className: "dot" }));
    main.append(spinner, recording);
    const selectors = [];
    for (const sheet of document.styleSheets) {
        for (const rule of sheet.cssRules) {
            const rules = rule instanceof CSSMediaRule ? [...rule.cssRules] : [rule];
            for (const inner of rules) {
                if (!inner.style || (rule.media && rule.media.mediaText.includes("reduced-motion"))) continue;
                if (inner.style.animationName || inner.style.transitionDuration || inner.style.transition) {
                    selectors.push(inner.selectorText);
                }
            }
        }
    }
    const found = [];
    for (const selector of selectors) {
        for (const el of document.querySelectorAll(selector)) {
            const style = getComputedStyle(el);
            const moves = style.animationName !== "none" ||
                style.transitionDuration.split(",").some(d => parseFloat(d) > 0);
            found.push({ selector, moves, animation: style.animationName, transition: style.transitionDuration });
        }
    }
    return { selectors, found };
}"""


def test_motion_stops_when_the_person_asks_for_less(contexts: Contexts, media_root) -> None:
    """Ensure that under `prefers-reduced-motion: reduce` nothing animated or transitioned moves, where it does otherwise."""
    things = in_a_thread(world)
    punch = Channel.objects.get(kind="punch")
    pages = ["/", f"/c/{punch.public_id}", f"/c/{things['songs'].public_id}", "/explore", "/me"]
    for motion, should_move in (("no-preference", True), ("reduce", False)):
        page = contexts.new(reduced_motion=motion).new_page()
        sign_in_as_demo(page)
        measured: list[dict[str, Any]] = []
        for path in pages:
            page.goto(path)
            result = page.evaluate(MOVING)
            assert len(result["selectors"]) >= 8, result["selectors"]  # the style sheet's animations and transitions
            measured += result["found"]
        covered = {item["selector"] for item in measured}
        assert {".spinner", ".recording .dot", ".button", "button.same"} <= covered, covered
        if should_move:
            assert all(item["moves"] for item in measured), [i for i in measured if not i["moves"]]
        else:
            assert not any(item["moves"] for item in measured), [i for i in measured if i["moves"]]
