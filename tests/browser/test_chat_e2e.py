"""Two people on two phones: one knocks from a post, the other accepts, and they talk live."""

from playwright.sync_api import expect

from chat.models import Message
from posts.services import post_create_text
from tests.factories import make_channel, make_user


def test_knock_accept_and_talk_live(asgi_live_server, signed_in, shot):
    author = make_user(username="nightowl")
    channel = make_channel(name="Insomnia", host=author)
    post = post_create_text(author=author, channel=channel, text="3:12 and the fridge hums louder than my thoughts.")
    knocker = make_user(username="lark")

    lark = signed_in(knocker)
    lark.goto(f"/p/{post.public_id}")
    lark.locator(".post-menu summary").tap()
    lark.get_by_role("menuitem", name="Talk to the author").tap()
    expect(lark.get_by_role("heading", name="Talk to the author")).to_be_visible()
    shot(lark, "chat-01-knock")
    lark.locator("#knock-text").fill("Same here. Mine clicks every ten minutes.")
    lark.get_by_role("button", name="Knock").tap()
    expect(lark.locator(".bubble.mine")).to_have_count(1)
    expect(lark.get_by_text("Waiting for them to accept")).to_be_visible()
    shot(lark, "chat-02-waiting")

    owl = signed_in(author)
    expect(owl.locator("#chat-badge .badge-count")).to_have_text("1")
    owl.get_by_role("link", name="Chats").tap()
    expect(owl.get_by_text("Asking to talk")).to_be_visible()
    shot(owl, "chat-03-requests")
    owl.locator(".chat-row").first.tap()
    expect(owl.locator(".chat-context")).to_contain_text("fridge hums")
    owl.get_by_role("button", name="Accept").tap()
    expect(owl.get_by_role("button", name="Accept")).to_have_count(0)
    expect(lark.get_by_text("Waiting for them to accept")).to_have_count(0)  # told live

    # Live, both ways, without reloading.
    owl.locator("#chat-text").fill("Ha. Tea?")
    owl.locator("#chat-text").press("Enter")
    expect(lark.locator(".bubble:not(.mine)")).to_contain_text("Ha. Tea?")
    lark.locator("#chat-text").fill("Chamomile. Always.")
    expect(owl.locator("#typing")).to_contain_text("lark is typing")
    lark.get_by_role("button", name="Send", exact=True).tap()
    expect(owl.locator(".bubble:not(.mine)").last).to_contain_text("Chamomile")
    expect(lark.locator("#read-state")).to_be_visible()  # the owl had the page open: read
    shot(owl, "chat-04-owl")
    shot(lark, "chat-05-lark")
    assert list(Message.objects.order_by("seq").values_list("seq", "sender__username")) == [
        (1, "lark"),
        (2, "nightowl"),
        (3, "lark"),
    ]


def test_messages_typed_offline_are_sent_when_back(asgi_live_server, signed_in, contexts):
    author = make_user(username="nightowl2")
    channel = make_channel(name="Insomnia 2", host=author)
    post = post_create_text(author=author, channel=channel, text="Anyone up?")
    lark = signed_in(make_user(username="lark2"))
    lark.goto(f"/p/{post.public_id}/talk")
    lark.locator("#knock-text").fill("Me.")
    lark.get_by_role("button", name="Knock").tap()
    expect(lark.locator(".bubble.mine")).to_have_count(1)
    contexts.set_offline(lark.context, True)
    lark.evaluate("() => window.dispatchEvent(new Event('offline'))")
    lark.locator("#chat-text").fill("Still here.")
    lark.get_by_role("button", name="Send", exact=True).tap()
    expect(lark.locator(".bubble.pending")).to_have_count(1)
    contexts.set_offline(lark.context, False)
    expect(lark.locator(".bubble.pending")).to_have_count(0, timeout=15_000)
    expect(lark.locator(".bubble.mine")).to_have_count(2)
    assert Message.objects.filter(text="Still here.").count() == 1
