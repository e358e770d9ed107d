"""same with the keyboard only, on a phone-sized screen: Tab, Shift+Tab, Enter and Space, never a tap or a click.

A person signs in, opens a channel from Explore, presses *same* on a post, knocks on its author through the
post's menu and then writes in the conversation. At every step the focused element shows where it is (an
outline, or for a field its ring), and focus can always move on: Shift+Tab from the composer leaves it.
same has no modal dialog or sheet: its menus are disclosures (`<details>`), which take focus in page order
and keep nothing in.
"""

from playwright.sync_api import Page, expect

from chat.models import Conversation, Message
from interests.services import channel_join
from posts.models import Same
from posts.services import post_create_text
from tests.browser.conftest import Shot
from tests.factories import PASSWORD, make_channel, make_user

# Where focus is drawn for the focused element: its own outline or ring, or (for a file input hidden
# behind its label, the photo button) the outline of the label that stands for it.
FOCUS = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return { tag: "body", shown: false };
    const shown = (node) => {
        const style = getComputedStyle(node);
        const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
        return outline || style.boxShadow !== "none";
    };
    const label = el.labels && el.labels[0];
    const box = el.getBoundingClientRect();
    return {
        tag: el.tagName.toLowerCase(),
        text: (el.getAttribute("aria-label") || el.textContent || el.name || "").trim().slice(0, 40),
        href: el.getAttribute("href") || "",
        id: el.id,
        cls: el.className && el.className.baseVal === undefined ? el.className : "",
        // A 1px, clipped element (a visually hidden input) shows nothing of its own outline.
        shown: (box.width > 1 && box.height > 1 && shown(el)) || (!!label && shown(label)),
    };
}"""


def focused(page: Page) -> dict:
    return page.evaluate(FOCUS)


def tab_to(page: Page, wanted: str, *, backwards: bool = False, limit: int = 60) -> dict:
    """Press Tab (or Shift+Tab) until the focused element matches the CSS selector `wanted`; every stop on
    the way must show its focus."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        where = focused(page)
        if where["tag"] == "body":
            continue  # past the last element: the browser's own stop, then the page's first element again
        assert where["shown"], f"focus is not visible on {where}"
        if page.evaluate("s => document.activeElement.matches(s)", wanted):
            return where
    raise AssertionError(f"{wanted} never took focus in {limit} presses of {key}")


def test_explore_a_channel_press_same_and_chat_with_the_keyboard(asgi_live_server, new_page, shot: Shot):
    """Ensure that a whole flow works with the keyboard alone and that focus is always visible and never stuck."""
    host = make_user(username="lark")
    channel = make_channel(host=host, name="Night walkers", description="Walking after midnight")
    post = post_create_text(author=host, channel=channel, text="The streets are so quiet at 2 a.m.")
    me = make_user(username="wren")
    channel_join(user=me, channel=make_channel(name="Something else"))

    page = new_page()
    page.goto("/login")
    tab_to(page, "#id_login")
    page.keyboard.type("wren")
    tab_to(page, "#id_password")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()

    # Explore, from the tab bar (it comes first in the page); Enter follows a link.
    tab_to(page, "nav.tabs a[href='/explore']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{asgi_live_server}/explore")
    tab_to(page, f"a[href='/c/{channel.public_id}']")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Night walkers")).to_be_visible()

    # *same* on the post, with Space.
    same_button = f"#post-{post.public_id} button.same"
    tab_to(page, same_button)
    page.keyboard.press("Space")
    expect(page.locator(f"{same_button}.pressed")).to_be_visible()
    assert Same.objects.filter(user=me, post=post).exists()
    # htmx swapped the button for its pressed self: focus stays on it, visibly, instead of falling to the page.
    where = focused(page)
    assert where["id"] == f"same-{post.public_id}", where
    assert where["shown"], where
    shot(page, "keyboard-01-same-pressed", full_page=False)

    # The post's menu opens with Enter; its items follow in Tab order; "Talk to the author" knocks.
    tab_to(page, f"#post-{post.public_id} .post-menu summary")
    page.keyboard.press("Enter")
    expect(page.locator(f"#post-{post.public_id} .post-menu")).to_have_attribute("open", "")
    tab_to(page, f"#post-{post.public_id} a[href='/p/{post.public_id}/talk']")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{asgi_live_server}/p/{post.public_id}/talk")
    tab_to(page, "#knock-text")
    page.keyboard.type("Me too, I walk to the river.")
    tab_to(page, "button[type=submit].block")
    page.keyboard.press("Enter")
    page.wait_for_url("**/chats/*")
    conversation = Conversation.objects.get(participants__user=me)
    expect(page).to_have_url(f"{asgi_live_server}/chats/{conversation.public_id}")
    page.wait_for_load_state("load")
    expect(page.locator("#chat-text")).to_be_editable()

    # In the conversation: the composer takes the message, Enter sends it.
    tab_to(page, "#chat-text")
    page.keyboard.type("Which bridge do you cross?")
    page.keyboard.press("Enter")
    expect(page.locator(".bubble.mine:not(.pending)", has_text="Which bridge do you cross?")).to_be_visible()
    assert Message.objects.filter(conversation=conversation, sender=me, text="Which bridge do you cross?").exists()
    shot(page, "keyboard-02-message-sent", full_page=False)

    # Not trapped: from the composer, Tab moves on past it, and Shift+Tab walks back out to the tab bar.
    assert page.evaluate("document.activeElement.id") == "chat-text"
    tab_to(page, "#composer ~ * *, #composer ~ *, #composer :not(#chat-text)", limit=3)
    tab_to(page, "nav.tabs a[href='/chats']", backwards=True)
