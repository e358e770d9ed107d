"""Voice messages, photos, forwarded posts and group chats, on two phones, with a (fake) microphone."""

import re

from playwright.sync_api import Page, expect

from chat import services
from chat.models import Conversation, Message, Participant
from chat.tasks import transcribe_voice_message
from posts.services import post_create_text
from tests.browser.threads import OwnThread
from tests.factories import make_channel, make_user
from tests.samples import photo_with_gps


def talking(author_name: str, knocker_name: str):
    """Set up in a thread of its own: announcing events can't run where Playwright's event loop runs."""
    with OwnThread() as pool:
        return pool.submit(_talking, author_name, knocker_name).result()


def _talking(author_name: str, knocker_name: str):
    author, knocker = make_user(username=author_name), make_user(username=knocker_name)
    channel = make_channel(name=f"Rain on tin roofs {author_name}", host=author)
    post = post_create_text(author=author, channel=channel, text="The rain is loud tonight.")
    conversation, _sent = services.conversation_knock(sender=knocker, post=post, text="Love that sound.", client_id="k")
    services.conversation_accept(user=author, conversation=conversation)
    return author, knocker, conversation


def audio_plays(page: Page, selector: str) -> None:
    page.locator(selector).last.evaluate("audio => audio.play()")
    page.wait_for_function(
        f"() => {{ const a = [...document.querySelectorAll({selector!r})].at(-1); return a && !a.paused && a.currentTime > 0.2; }}"
    )


def test_record_a_voice_message_and_send_a_photo(asgi_live_server, signed_in, media_root, shot, tmp_path):
    author, knocker, conversation = talking("drizzle", "puddle")
    url = f"/chats/{conversation.public_id}"
    owl = signed_in(author)
    owl.goto(url)
    lark = signed_in(knocker, permissions=["microphone"])
    lark.goto(url)

    record = lark.locator("#record")
    expect(record).to_be_visible()
    record.tap()
    expect(lark.locator("#recording")).to_be_visible()
    expect(lark.locator("#recording-time")).to_have_text("0:02", timeout=5_000)
    shot(lark, "chat-10-recording", full_page=False)
    record.tap()  # stop and send
    expect(lark.locator("#recording")).to_be_hidden()
    expect(lark.locator(".bubble.mine.kind-voice audio")).to_have_count(1, timeout=15_000)
    expect(owl.locator(".bubble.kind-voice audio")).to_have_count(1)  # live on the other phone
    audio_plays(owl, ".bubble.kind-voice audio")
    voice = Message.objects.get(kind="voice")
    assert voice.audio.endswith(".m4a")
    assert 1.5 < (voice.audio_seconds or 0) < 4

    picture = tmp_path / "IMG_2041.jpg"
    picture.write_bytes(photo_with_gps(size=(800, 600)).read())
    lark.locator("#chat-photo").set_input_files(str(picture))
    expect(owl.locator(".bubble-photo img")).to_have_count(1, timeout=15_000)
    owl.wait_for_function("() => document.querySelector('.bubble-photo img').naturalWidth > 0")
    expect(lark.locator(".bubble.pending")).to_have_count(0)
    shot(owl, "chat-11-voice-and-photo")
    shot(lark, "chat-12-voice-and-photo-sender")
    assert list(Message.objects.order_by("seq").values_list("kind", flat=True)) == ["text", "voice", "photo"]


def test_a_voice_message_shows_its_words_when_the_worker_has_heard_them(
    asgi_live_server, signed_in, media_root, shot, settings
):
    """Ensure that both phones show "Transcribing…" under a voice message as soon as it is sent, then its words
    when the task worker has heard them (a real recording of "good morning everyone" through the fake
    microphone), live, without replacing the player."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # queued; run by hand below
    author, knocker, conversation = talking("dawn", "dusk")
    url = f"/chats/{conversation.public_id}"
    owl = signed_in(author)
    owl.goto(url)
    lark = signed_in(knocker, permissions=["microphone"])
    lark.goto(url)

    record = lark.locator("#record")
    record.tap()
    expect(lark.locator("#recording-time")).to_have_text("0:02", timeout=5_000)
    record.tap()  # stop and send
    for phone in (lark, owl):
        expect(phone.locator(".bubble.kind-voice .voice-transcript")).to_have_text("Transcribing…", timeout=15_000)
    owl.locator(".bubble.kind-voice audio").evaluate("audio => { audio.dataset.before = 'yes'; }")
    shot(owl, "chat-13-voice-transcribing", full_page=False)

    voice = Message.objects.get(kind="voice")
    with OwnThread() as worker:  # the task worker's turn: events can't go out from Playwright's loop
        worker.submit(transcribe_voice_message.call, message_id=voice.public_id).result()
    voice.refresh_from_db()
    assert "morning" in voice.transcript
    for phone in (lark, owl):
        words = phone.locator(".bubble.kind-voice .voice-transcript")
        expect(words).to_have_text(voice.transcript, timeout=15_000)
        expect(words).not_to_have_class(re.compile(r"\bnone\b"))
    expect(owl.locator(".bubble.kind-voice audio[data-before=yes]")).to_have_count(1)  # the same player
    shot(owl, "chat-14-voice-transcript", full_page=False)
    shot(lark, "chat-15-voice-transcript-sender", full_page=False)
    # A page opened afterwards has the words from the server.
    owl.reload()
    expect(owl.locator(".bubble.kind-voice .voice-transcript")).to_have_text(voice.transcript)


def test_start_a_group_invite_by_link_and_forward_a_post(asgi_live_server, signed_in, shot):
    owner = make_user(username="heron")
    friend = make_user(username="kingfisher")
    channel = make_channel(name="Birdsong at dawn", host=owner)
    shared = post_create_text(author=owner, channel=channel, text="A blackbird at 4:50, right on time.")

    heron = signed_in(owner)
    heron.get_by_role("link", name="Chats").tap()
    heron.get_by_role("link", name="New group").tap()
    heron.get_by_role("button", name="Start the group").tap()
    expect(heron.locator("#group-title-error")).to_have_text("Give the group a name.")  # refused, next to the field
    heron.locator("#group-title").fill("Early birds")
    heron.get_by_role("button", name="Start the group").tap()
    expect(heron.get_by_role("heading", name="Early birds")).to_be_visible()
    heron.get_by_role("button", name="Make a link").tap()
    link = heron.locator(".invite-url").first.input_value()
    assert "/join/" in link
    shot(heron, "chat-13-group-members")

    bird = signed_in(friend)
    bird.goto(link)
    expect(bird.get_by_role("heading", name="Early birds")).to_be_visible()
    expect(bird.get_by_text("1 person is in it: heron")).to_be_visible()
    shot(bird, "chat-14-join")
    bird.get_by_role("button", name="Join the group").tap()
    expect(bird.locator(".chat-event").last).to_have_text("kingfisher joined")

    heron.get_by_role("link", name="Open the chat").tap()
    expect(heron.locator(".chat-event").last).to_have_text("kingfisher joined")
    bird.locator("#chat-text").fill("Morning, everyone!")
    bird.get_by_role("button", name="Send", exact=True).tap()
    expect(heron.locator(".bubble:not(.mine) .bubble-name")).to_have_text("kingfisher")
    expect(heron.locator(".bubble:not(.mine)")).to_contain_text("Morning, everyone!")

    # Forward a post into the group, from the post's menu.
    heron.goto(f"/p/{shared.public_id}")
    heron.locator(".post-menu summary").tap()
    heron.get_by_role("menuitem", name="Send to a chat").tap()
    heron.get_by_label("Early birds").check()
    heron.get_by_role("button", name="Send", exact=True).tap()
    expect(heron.locator(".bubble.mine .bubble-post")).to_contain_text("A blackbird at 4:50")
    expect(bird.locator(".bubble-post")).to_contain_text("A blackbird at 4:50")  # live
    shot(bird, "chat-15-group")

    group = Conversation.objects.get(kind="group")
    assert list(Participant.objects.filter(conversation=group).values_list("user__username", "role")) == [
        ("heron", "owner"),
        ("kingfisher", "member"),
    ]
