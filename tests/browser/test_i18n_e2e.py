"""Chinese and English on a phone: a browser set to Simplified Chinese sees same in Chinese, and a
person who chooses English in their settings sees English from then on, whatever the browser says.
Screenshots land in test-artifacts/screenshots/i18n-*.png."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from chat.services import conversation_knock
from interests.services import channel_join
from posts.services import post_create_text
from tests.browser.conftest import Shot
from tests.browser.threads import OwnThread
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.usefixtures("media_root")

CHINESE_PHONE = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}


def no_horizontal_overflow(page: Page) -> None:
    """Nothing sticks out sideways: long Chinese lines wrap instead of widening the page."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page.url


def buttons_fit(page: Page) -> None:
    """No button's label is cut: its text fits inside the button it is on."""
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('.button, .tab, button')]
            .filter(b => b.offsetParent && (b.scrollWidth > b.clientWidth + 1 || b.scrollHeight > b.clientHeight + 1))
            .map(b => b.textContent.trim())"""
    )
    assert clipped == [], clipped


def test_chinese_from_the_browser_then_english_by_choice(new_page, shot: Shot, asgi_live_server):
    host = make_user(username="xiaoyu", language="zh-hans", timezone="Asia/Shanghai")
    channel = make_channel(
        host=host,
        name="失眠的人",
        description="凌晨三点还醒着的人，来这里说说话。",
        rule="只聊睡不着的夜晚，不打广告。",
    )
    ana = make_user(username="ana")
    channel_join(user=ana, channel=channel)
    post_create_text(
        author=ana,
        channel=channel,
        text="又是凌晨三点，窗外的风一直吹，冰箱嗡嗡地响。有没有人和我一样睡不着？supercalifragilisticexpialidocious",
    )
    mine = post_create_text(author=host, channel=channel, text="今晚的月亮很圆。")
    # In a thread of its own: announcing the knock can't run where Playwright's event loop runs.
    with OwnThread() as pool:
        pool.submit(conversation_knock, sender=ana, post=mine, text="我也看到了，好圆！", client_id="knock-1").result()
    local = timezone.localtime(timezone.now(), timezone.get_fixed_timezone(8 * 60)).strftime("%H:%M")

    page = new_page(**CHINESE_PHONE)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", name="说出你的感受，找到和你一样的人。")).to_be_visible()
    expect(page.get_by_role("link", name="加入 same")).to_be_visible()
    no_horizontal_overflow(page)
    buttons_fit(page)
    shot(page, "i18n-01-welcome-zh")

    page.get_by_role("link", name="我已经有账号了").tap()
    page.locator("#id_login").fill("xiaoyu")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="登录").tap()

    tabs = page.get_by_role("navigation", name="主导航")
    expect(tabs).to_be_visible()
    for name in ("首页", "发现", "我"):
        expect(tabs.get_by_role("link", name=name, exact=True)).to_be_visible()
    # The knock waiting for xiaoyu is counted on the Chats tab, in Chinese too.
    expect(tabs.get_by_role("link", name="1 条未读 聊天")).to_be_visible()
    buttons_fit(page)
    shot(page, "i18n-02-home-zh")

    page.goto(f"/c/{channel.public_id}")
    expect(page.get_by_role("heading", name="失眠的人")).to_be_visible()
    post = page.locator(".post", has_text="supercalifragilistic")
    expect(post.locator(".post-time")).to_have_text(f"今天 {local}")
    expect(post.get_by_role("button", name=re.compile("同感"))).to_be_visible()
    # The scripts' strings come from the catalog served at /jsi18n/.
    assert page.evaluate("gettext('yesterday %(time)s')") == "昨天 %(time)s"
    no_horizontal_overflow(page)
    buttons_fit(page)
    shot(page, "i18n-03-channel-zh")

    tabs.get_by_role("link", name="发现", exact=True).tap()
    expect(page.get_by_role("searchbox", name="搜索频道")).to_be_visible()
    expect(page.get_by_role("link", name="失眠的人")).to_be_visible()
    no_horizontal_overflow(page)
    buttons_fit(page)
    shot(page, "i18n-03b-explore-zh")

    tabs.get_by_role("link", name=re.compile("聊天$")).tap()
    expect(page.get_by_text("想和你聊聊")).to_be_visible()
    no_horizontal_overflow(page)
    shot(page, "i18n-03c-chats-zh")
    page.get_by_role("link", name=re.compile("ana")).first.tap()
    expect(page.get_by_text("ana 想和你聊聊你的帖子。")).to_be_visible()
    expect(page.get_by_role("button", name="接受")).to_be_visible()
    expect(page.locator(".bubble-time").first).to_have_text(f"今天 {local}")
    no_horizontal_overflow(page)
    buttons_fit(page)
    shot(page, "i18n-03d-conversation-zh")

    tabs.get_by_role("link", name="我", exact=True).tap()
    page.get_by_role("link", name=re.compile("语言")).tap()
    expect(page.get_by_role("heading", name="名字、时钟和语言")).to_be_visible()
    shot(page, "i18n-04-settings-zh")
    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="保存").tap()

    expect(page.get_by_text("Saved.")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Main")
    for name in ("Home", "Explore", "Me"):
        expect(tabs.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(tabs.get_by_role("link", name=re.compile("Chats$"))).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert User.objects.get(username="xiaoyu").language == "en"
    shot(page, "i18n-05-me-en")

    page.goto(f"/c/{channel.public_id}")
    expect(page.locator(".post", has_text="supercalifragilistic").locator(".post-time")).to_have_text(f"today {local}")
    assert page.evaluate("gettext('yesterday %(time)s')") == "yesterday %(time)s"
    no_horizontal_overflow(page)
    buttons_fit(page)
    shot(page, "i18n-06-channel-en")


def test_a_visitor_switches_language_on_the_welcome_page(new_page, shot: Shot):
    page = new_page(**CHINESE_PHONE)
    page.goto("/login")
    expect(page.get_by_role("heading", name="欢迎回来")).to_be_visible()
    page.get_by_role("button", name="English").tap()
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()
    expect(page.get_by_role("button", name="简体中文")).to_be_enabled()
    page.goto("/")  # the choice is kept (a cookie), although the browser still asks for Chinese
    expect(page.get_by_role("heading", name="Say what you feel. Find who feels the same.")).to_be_visible()
    shot(page, "i18n-07-welcome-en-by-choice")
