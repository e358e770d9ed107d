"""House ads in a real browser on a phone: the card at the top of Home, light and dark, dismissed
for a day with ×; and the operators' dashboard. Screenshots land in test-artifacts/screenshots/ads-*.png."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import Page, expect

from ads import selectors
from ads.models import CampaignDay
from ads.services import campaign_create
from interests.services import channel_join
from posts.services import post_create_text
from tests.browser.conftest import COMPUTER, Contexts, Shot, SignIn
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.usefixtures("media_root")


def picture() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 500), (244, 162, 97)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def ads_on_every_view(settings):
    settings.ADS_ENABLED = True
    settings.ADS_EVERY_N_VIEWS = 1


@pytest.fixture
def reader():
    """Someone with a channel on Home, so Home shows a feed (and the ad above it)."""
    host = make_user(username="night_owl")
    channel = make_channel(name="Insomnia", host=host, category="moods")
    person = make_user(username="reader")
    channel_join(user=person, channel=channel)
    post_create_text(author=host, channel=channel, text="Awake at 3 again. Anyone?")
    return person


def the_ad(page: Page):
    return page.get_by_role("complementary", name="Ad")


def images_loaded(page: Page) -> None:
    for image in page.locator(".ad-card img").element_handles():
        page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image)


@pytest.mark.usefixtures("ads_on_every_view")
def test_an_ad_on_home_then_dismissed_for_a_day(signed_in: SignIn, shot: Shot, reader):
    campaign = campaign_create(
        name="Run your own",
        text="same is open source — run your own, for your school, your town or your friends.",
        link_url="https://example.org/same",
        ends_at=timezone.now() + timedelta(days=30),
        image=picture(),
    )
    page = signed_in(reader)
    ad = the_ad(page)
    expect(ad).to_be_visible()
    expect(ad.locator(".ad-label")).to_have_text("Ad")
    expect(ad).to_contain_text("same is open source")
    expect(ad.get_by_role("link")).to_have_attribute("href", f"/ads/c/{campaign.public_id}")
    expect(ad.get_by_role("link")).to_contain_text("example.org")
    images_loaded(page)
    # On a phone the card sits above the first post, whole, on the first screen.
    box, first_post = ad.bounding_box(), page.locator("li.post").first.bounding_box()
    assert box is not None
    assert first_post is not None
    assert box["width"] <= 390
    assert box["y"] + box["height"] <= first_post["y"]
    assert box["y"] + box["height"] <= 844 - 64
    shot(page, "ads-home-phone", full_page=False)
    assert CampaignDay.objects.get(campaign=campaign, day=selectors.site_day()).impressions == 1

    ad.get_by_role("button", name="Hide ads for a day").tap()
    expect(ad).to_have_count(0)
    expect(page.locator("li.post").first).to_be_visible()
    page.reload()
    expect(page.locator("li.post").first).to_be_visible()
    expect(the_ad(page)).to_have_count(0)
    counted = CampaignDay.objects.get(campaign=campaign, day=selectors.site_day())
    assert (counted.impressions, counted.dismissals) == (1, 1)


@pytest.mark.usefixtures("ads_on_every_view")
def test_the_card_in_the_dark_and_on_a_channel(signed_in: SignIn, shot: Shot, reader):
    campaign_create(
        name="Tea",
        text="Sleepless? The night-tea channel swaps calming blends every Sunday.",
        link_url="https://example.org/tea",
        ends_at=timezone.now() + timedelta(days=30),
        categories=["moods"],
    )
    page = signed_in(reader, color_scheme="dark")
    expect(page.locator("li.post").first).to_be_visible()
    expect(the_ad(page)).to_have_count(0)  # targeted at moods: not on Home
    page.get_by_role("link", name="Insomnia").first.tap()
    expect(the_ad(page)).to_contain_text("night-tea")
    shot(page, "ads-channel-dark", full_page=False)
    background = page.evaluate("getComputedStyle(document.querySelector('.ad-card')).backgroundColor")
    assert background == "rgb(33, 31, 36)"  # the dark surface


def test_the_operators_dashboard_and_the_campaign_list(contexts: Contexts, shot: Shot, live_server, reader):
    make_user(username="operator", is_staff=True, is_superuser=True)
    campaign_create(
        name="Book swap",
        text="Book swap on Saturday",
        link_url="https://example.org/swap",
        ends_at=timezone.now() + timedelta(days=3),
        daily_cap=500,
        categories=["books"],
    )
    page = contexts.new(**COMPUTER).new_page()
    page.goto("/admin/login/")
    page.locator("#id_username").fill("operator")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Activity dashboard").click()
    expect(page.get_by_role("heading", name="Activity, last 30 days")).to_be_visible()
    expect(page.locator("svg.chart")).to_have_count(5)
    expect(page.get_by_role("table", name="Numbers per day, newest first")).to_be_visible()
    shot(page, "ads-dashboard-desktop")

    page.get_by_role("link", name="Home").first.click()
    page.get_by_role("link", name="Campaigns").first.click()
    row = page.locator("#result_list tbody tr", has_text="Book swap")
    expect(row).to_contain_text("0 / 500")
    expect(row).to_contain_text("Books")
    shot(page, "ads-admin-campaigns")
