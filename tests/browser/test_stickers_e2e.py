"""Making a sticker on a phone (crop by dragging, a voice clip from the fake microphone, a caption), sending it
in a chat, and the other person tapping it to hear it."""

import re

from playwright.sync_api import Page, expect

from chat import services
from posts.services import post_create_text
from stickers.models import Sticker
from tests.browser.threads import OwnThread
from tests.factories import make_channel, make_user
from tests.samples import photo_with_gps


def _talking(author_name: str, knocker_name: str):
    author, knocker = make_user(username=author_name), make_user(username=knocker_name)
    channel = make_channel(name=f"Small joys {author_name}", host=author)
    post = post_create_text(author=author, channel=channel, text="Warm bread on a cold morning.")
    conversation, _sent = services.conversation_knock(sender=knocker, post=post, text="Yes!", client_id="k")
    services.conversation_accept(user=author, conversation=conversation)
    return author, knocker, conversation


def talking(author_name: str, knocker_name: str):
    with OwnThread() as pool:  # events can't be announced where Playwright's loop runs
        return pool.submit(_talking, author_name, knocker_name).result()


def drag(page: Page, selector: str, dx: float, dy: float) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=4)
    page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def test_make_a_sticker_send_it_and_hear_it(asgi_live_server, signed_in, media_root, shot, tmp_path):
    author, knocker, conversation = talking("baker", "crumb")
    photo = tmp_path / "bread.jpg"
    photo.write_bytes(photo_with_gps(size=(1200, 800)).read())

    maker = signed_in(knocker, permissions=["microphone"])
    maker.get_by_role("link", name="Me", exact=True).tap()
    maker.get_by_role("link", name="My stickers").tap()
    maker.get_by_role("link", name="Make one").tap()
    maker.get_by_role("button", name="Make the sticker").tap()
    expect(maker.locator("#error-image")).to_contain_text("Choose a photo")  # refused next to the field

    maker.locator("#sticker-photo").set_input_files(str(photo))
    expect(maker.locator("#crop-box")).to_be_visible()
    assert maker.locator("#crop_size").input_value() == "800"
    maker.locator("#crop-zoom").fill("50")
    drag(maker, "#crop-box", 400, 0)  # as far right as it goes
    x, y, size = (int(maker.locator(f"#crop_{n}").input_value()) for n in ("x", "y", "size"))
    assert (x, size) == (1200 - 400, 400)
    assert 0 <= y <= 400
    maker.locator("#sticker-record").tap()
    expect(maker.locator("#sticker-record-state")).to_contain_text("0:02", timeout=5_000)
    maker.locator("#sticker-record").tap()
    expect(maker.locator("#sticker-voice-preview")).to_be_visible()
    maker.locator("#sticker-caption").fill("fresh bread!")
    shot(maker, "sticker-01-maker")
    maker.get_by_role("button", name="Make the sticker").tap()
    expect(maker.locator("#result-status")).to_have_text("Done — tap it to hear your voice.")
    shot(maker, "sticker-02-made")
    sticker = Sticker.objects.get()
    assert (sticker.caption, sticker.status) == ("fresh bread!", "ready")
    assert 1.5 < (sticker.audio_seconds or 0) < 4

    owl = signed_in(author)
    owl.goto(f"/chats/{conversation.public_id}")
    maker.goto(f"/chats/{conversation.public_id}")
    maker.get_by_role("button", name="Stickers").tap()
    maker.get_by_role("button", name="Send “fresh bread!”").tap()
    expect(maker.locator(".bubble.mine .bubble-sticker")).to_have_count(1)
    received = owl.locator(".bubble:not(.mine) .bubble-sticker")
    expect(received).to_have_count(1)  # live
    owl.wait_for_function("() => document.querySelector('.bubble-sticker img').naturalWidth > 0")
    received.tap()
    expect(received).to_have_class("bubble-sticker playing")  # its voice is playing
    owl.get_by_role("button", name="Save sticker").tap()
    expect(owl.get_by_role("button", name="Saved ✓")).to_be_visible()
    shot(owl, "sticker-03-received")
    assert sticker.saves.filter(user=author).exists()


def test_a_sticker_captioned_by_its_voice(live_server, signed_in, media_root, settings, shot, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    photo = tmp_path / "sunrise.jpg"
    photo.write_bytes(photo_with_gps(size=(900, 900)).read())
    maker = signed_in(make_user(username="sunrise"), permissions=["microphone"])
    maker.goto("/stickers/new")
    maker.locator("#sticker-photo").set_input_files(str(photo))
    expect(maker.locator("#crop-box")).to_be_visible()
    maker.locator("#sticker-record").tap()
    expect(maker.locator("#sticker-record-state")).to_contain_text("0:05", timeout=10_000)  # the whole phrase
    maker.locator("#sticker-record").tap()
    expect(maker.locator("#sticker-voice-preview")).to_be_visible()
    maker.get_by_role("button", name="Make the sticker").tap()  # no caption typed: the voice gives it
    expect(maker.locator("#result-caption")).to_have_value(re.compile("morning"), timeout=20_000)
    expect(maker.locator("#result-status")).to_have_text("Done — tap it to hear your voice.")
    shot(maker, "sticker-04-heard")
    sticker = Sticker.objects.get()
    assert "morning" in sticker.caption
    # The caption can be changed afterwards.
    maker.locator("#result-caption").fill("good morning, world")
    maker.get_by_role("button", name="Save caption").tap()
    expect(maker.locator("#result-status")).to_have_text("Caption saved.")
    sticker.refresh_from_db()
    assert sticker.caption == "good morning, world"
