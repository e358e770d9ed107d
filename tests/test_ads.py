"""House ads: which campaign a feed shows and how often, what is counted, and what is never kept."""

import random
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, models
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from ads import selectors, services
from ads.admin import CampaignForm
from ads.hiding import COOKIE
from ads.models import Campaign, CampaignDay
from core.demo import DemoWorld
from interests.models import Channel
from interests.services import channel_join
from posts.services import post_create_text
from tests.factories import make_channel, make_user
from tests.samples import GPS_MARK, photo_with_gps

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


def make_campaign(**fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "name": f"Campaign {Campaign.objects.count()}",
        "text": "Come to the book swap on Saturday.",
        "link_url": "https://example.org/swap",
        "starts_at": timezone.now() - timedelta(hours=1),
        "ends_at": timezone.now() + timedelta(days=7),
    }
    values.update(fields)
    return services.campaign_create(**values)


def counts(campaign: Campaign) -> CampaignDay:
    return CampaignDay.objects.get(campaign=campaign, day=selectors.site_day())


@pytest.fixture
def always(settings):
    """Every page view shows an ad, so a test sees the card when a campaign is live."""
    settings.ADS_ENABLED = True
    settings.ADS_EVERY_N_VIEWS = 1


@pytest.fixture
def person(client):
    """Someone signed in whose Home has a post, so Home shows its feed (and the ad above it)."""
    someone = make_user(username="reader")
    host = make_user(username="evening_host")
    home = make_channel(host=host, name="Evenings", category="life")
    channel_join(user=someone, channel=home)
    post_create_text(author=host, channel=home, text="Tea and a walk?")
    client.force_login(someone)
    return someone


def feed(client, where: str, channel: Channel | None = None, category: str = "") -> HttpResponse:
    """The feed page `where` (home, explore or a channel), as a phone opens it."""
    if where == "home":
        return client.get("/")
    if where == "explore":
        return client.get(reverse("interests:explore"), {"category": category} if category else {})
    assert channel is not None
    return client.get(reverse("interests:channel", args=[channel.public_id]))


def card(response: HttpResponse) -> str:
    """The ad card in a page, or "" when this view shows none."""
    assert response.status_code == 200
    text = response.content.decode()
    start = text.find('<aside class="ad-card')
    return text[start : text.index("</aside>", start) + len("</aside>")] if start >= 0 else ""


class TestSelection:
    def test_weights_decide_how_often_each_is_drawn(self):
        """Ensure that draws follow the weights (a chi-square test over many draws, df=2)."""
        one, three, six = make_campaign(weight=1), make_campaign(weight=3), make_campaign(weight=6)
        live = selectors.campaigns_live(category=None)
        rng = random.Random(8)
        draws = 20_000
        seen = Counter(selectors.campaign_draw(campaigns=live, rng=rng) for _ in range(draws))
        expected = {one: draws * 0.1, three: draws * 0.3, six: draws * 0.6}
        chi_square = sum((seen[c] - e) ** 2 / e for c, e in expected.items())
        assert chi_square < 13.8  # p = 0.001 for two degrees of freedom
        assert seen[six] > seen[three] > seen[one]

    def test_a_campaign_at_its_daily_cap_is_not_chosen(self):
        capped = make_campaign(daily_cap=2)
        assert services.ad_serve(category=None, every_n_views=1, rng=random.Random(1)) == capped
        assert services.ad_serve(category=None, every_n_views=1, rng=random.Random(2)) == capped
        assert selectors.campaigns_live(category=None) == []
        assert services.ad_serve(category=None, every_n_views=1, rng=random.Random(3)) is None
        assert counts(capped).impressions == 2
        other = make_campaign(name="Uncapped")
        assert {services.ad_serve(category=None, every_n_views=1, rng=random.Random(i)) for i in range(20)} == {other}

    def test_yesterdays_impressions_do_not_count_against_today(self):
        capped = make_campaign(daily_cap=1)
        CampaignDay.objects.create(campaign=capped, day=selectors.site_day() - timedelta(days=1), impressions=1)
        assert selectors.campaigns_live(category=None) == [capped]

    def test_not_before_its_start_nor_after_its_end(self):
        now = timezone.now()
        campaign = make_campaign(starts_at=now + timedelta(hours=1), ends_at=now + timedelta(days=1))
        assert selectors.campaigns_live(category=None, now=now) == []
        assert selectors.campaigns_live(category=None, now=now + timedelta(hours=1)) == [campaign]
        assert selectors.campaigns_live(category=None, now=now + timedelta(hours=23)) == [campaign]
        assert selectors.campaigns_live(category=None, now=now + timedelta(days=1)) == []

    def test_a_paused_campaign_is_not_chosen(self):
        make_campaign(is_active=False)
        assert selectors.campaigns_live(category=None) == []

    def test_a_targeted_campaign_only_beside_its_categories(self):
        music = make_campaign(name="Music", categories=["music"])
        everywhere = make_campaign(name="Everywhere")
        assert set(selectors.campaigns_live(category="music")) == {music, everywhere}
        assert selectors.campaigns_live(category="moods") == [everywhere]
        assert selectors.campaigns_live(category=None) == [everywhere]

    def test_frequency(self):
        rng = random.Random(4)
        shown = sum(selectors.view_shows_ad(every_n_views=4, rng=rng) for _ in range(8000))
        assert 1800 < shown < 2200
        assert all(selectors.view_shows_ad(every_n_views=1, rng=rng) for _ in range(100))
        assert not any(selectors.view_shows_ad(every_n_views=0, rng=rng) for _ in range(100))

    def test_unknown_categories_are_refused(self):
        with pytest.raises(Exception, match="categories"):
            make_campaign(categories=["astrology"])

    def test_the_end_comes_after_the_start(self):
        now = timezone.now()
        with pytest.raises(Exception, match="campaign_ends_after_start"):
            make_campaign(starts_at=now, ends_at=now - timedelta(hours=1))


class TestSlot:
    def test_home_shows_a_labelled_card_in_the_page_and_counts_the_impression(self, client, person, always):
        campaign = make_campaign(text="Night walks, every Friday.")
        page = feed(client, "home")
        shown = card(page)
        assert '<aside class="ad-card card" aria-label="Ad">' in shown
        assert '<span class="ad-label">Ad</span>' in shown
        assert "Night walks, every Friday." in shown
        assert reverse("ads:click", args=[campaign.public_id]) in shown
        assert "example.org/swap" not in shown  # the card links through the counter only
        assert '<input type="hidden" name="next" value="/">' in shown  # × without script comes back here
        # In the page, above the feed: nothing is fetched after it, so nothing moves once it is on screen.
        text = page.content.decode()
        assert text.index("ad-card") < text.index('class="post')
        assert 'hx-trigger="load"' not in shown
        assert counts(campaign).impressions == 1

    def test_nothing_live_is_no_card(self, client, person, always):
        assert card(feed(client, "home")) == ""
        make_campaign(is_active=False)
        assert card(feed(client, "home")) == ""
        assert not CampaignDay.objects.exists()

    def test_the_channel_category_applies(self, client, person, always):
        make_campaign(categories=["music"], text="Open mic night")
        music = make_channel(name="Songs", category="music")
        moods = make_channel(name="Moods", category="moods")
        assert "Open mic night" in card(feed(client, "channel", music))
        assert card(feed(client, "channel", moods)) == ""
        assert card(feed(client, "home")) == ""
        assert card(feed(client, "explore")) == ""
        assert "Open mic night" in card(feed(client, "explore", category="music"))
        assert counts(Campaign.objects.get()).impressions == 2

    def test_the_off_switch(self, client, person, settings):
        settings.ADS_ENABLED = False
        settings.ADS_EVERY_N_VIEWS = 1
        make_campaign()
        channel = make_channel(name="Quiet", host=person)
        for page in [feed(client, "home"), feed(client, "explore"), feed(client, "channel", channel)]:
            assert card(page) == ""
        assert not CampaignDay.objects.exists()

    def test_the_frequency_setting(self, client, person, settings):
        make_campaign()
        settings.ADS_EVERY_N_VIEWS = 0
        assert not any(card(feed(client, "home")) for _ in range(10))
        settings.ADS_EVERY_N_VIEWS = 1
        assert all(card(feed(client, "home")) for _ in range(10))
        settings.ADS_EVERY_N_VIEWS = 3
        shown = sum(bool(card(feed(client, "home"))) for _ in range(150))
        assert 20 < shown < 85  # about 50

    def test_the_three_feeds_carry_it_and_their_fragments_do_not(self, client, person, always):
        make_campaign(text="Book swap")
        channel = make_channel(name="Bikes", host=person, category="sports")
        post_create_text(author=person, channel=channel, text="hello")
        assert "Book swap" in card(feed(client, "home"))
        assert "Book swap" in card(feed(client, "explore", category="sports"))
        assert "Book swap" in card(feed(client, "channel", channel))
        # Explore's search results (an htmx fragment of the page) draw no ad of their own.
        results = client.get("/explore", {"q": "bik"}, headers={**HTMX, "HX-Target": "channel-results"})
        assert "Bikes" in results.content.decode()
        assert "ad-card" not in results.content.decode()
        assert counts(Campaign.objects.get()).impressions == 3

    def test_signed_out_people_get_no_ad(self, client, always):
        make_campaign()
        assert client.get("/").status_code == 200  # the welcome page, with no feed and no card
        assert "ad-card" not in client.get("/").content.decode()
        assert not CampaignDay.objects.exists()

    def test_what_a_shown_ad_costs_the_page(self, client, person, settings):
        """Ensure that a view without an ad reads no campaign, and one with an ad reads the live campaigns and
        counts the impression: three queries, whatever the page."""
        make_campaign()
        channel = make_channel(name="Bikes", category="sports")
        for where in ["home", "explore", "channel"]:
            settings.ADS_EVERY_N_VIEWS = 0
            feed(client, where, channel)
            with CaptureQueriesContext(connection) as without:
                assert card(feed(client, where, channel)) == ""
            settings.ADS_EVERY_N_VIEWS = 1
            with CaptureQueriesContext(connection) as shown:
                assert card(feed(client, where, channel))
            assert len(shown) - len(without) == 3, where
            assert not any("ads_" in query["sql"] for query in without.captured_queries)


class TestClicks:
    def test_a_click_is_counted_then_goes_to_the_stored_link(self, client):
        campaign = make_campaign(link_url="https://example.org/swap?from=same")
        response = client.get(reverse("ads:click", args=[campaign.public_id]))
        assert response.status_code == 302
        assert response["Location"] == "https://example.org/swap?from=same"
        assert response["Referrer-Policy"] == "no-referrer"
        assert counts(campaign).clicks == 1

    @pytest.mark.parametrize(
        "query",
        [{"next": "https://evil.example/"}, {"url": "//evil.example"}, {"to": "javascript:alert(1)"}],
    )
    def test_the_redirect_goes_nowhere_but_the_stored_link(self, client, query):
        campaign = make_campaign()
        response = client.get(reverse("ads:click", args=[campaign.public_id]), query)
        assert response["Location"] == "https://example.org/swap"

    def test_an_unknown_campaign_is_404(self, client):
        assert client.get(reverse("ads:click", args=["not-a-campaign"])).status_code == 404
        assert client.get("/ads/c/https:%2F%2Fevil.example").status_code == 404

    @pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.org/x", "/relative", "data:text/html,x"])
    def test_only_web_links_are_stored(self, url):
        with pytest.raises(Exception, match="link_url"):
            make_campaign(link_url=url)


class TestDismissal:
    def test_dismissed_for_a_day(self, client, person, always):
        campaign = make_campaign()
        response = client.post(reverse("ads:dismiss"), {"campaign": campaign.public_id}, headers=HTMX)
        assert response.status_code == 200
        assert response.text == ""
        cookie = response.cookies[COOKIE]
        assert cookie["max-age"] == 86400
        assert cookie["httponly"]
        assert counts(campaign).dismissals == 1
        with CaptureQueriesContext(connection) as hidden:
            assert card(feed(client, "home")) == ""
        assert not any("ads_" in query["sql"] for query in hidden.captured_queries)  # not even drawn
        tomorrow = time.time() + 86400 + 60
        with mock.patch("django.core.signing.time.time", return_value=tomorrow):
            assert card(feed(client, "home"))

    def test_a_forged_cookie_hides_nothing(self, client, person, always):
        make_campaign()
        client.cookies[COOKIE] = "1"
        assert card(feed(client, "home"))

    def test_without_htmx_it_goes_back_to_the_page_but_never_off_site(self, client, person):
        assert client.post(reverse("ads:dismiss"), {"next": "/explore"})["Location"] == "/explore"
        assert client.post(reverse("ads:dismiss"), {"next": "https://evil.example/"})["Location"] == "/"


@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    def _run(self, count, work):
        if connection.vendor == "sqlite":
            pytest.skip("SQLite serialises writers; the PostgreSQL run exercises real concurrency")
        barrier = threading.Barrier(count)
        errors: list[BaseException] = []

        def run(i):
            try:
                barrier.wait()
                work(i)
            except BaseException as error:  # noqa: BLE001  (collected and re-raised in the main thread)
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []

    def test_concurrent_impressions_and_clicks_are_all_counted(self):
        """Ensure that no count is lost when the day's row is created and bumped by many at once."""
        campaign = make_campaign()

        def work(i):
            for _ in range(5):
                services._count(campaign=campaign, counter="impressions")
                services.click_record(campaign=campaign)

        self._run(20, work)
        day = counts(campaign)
        assert (day.impressions, day.clicks) == (100, 100)
        assert CampaignDay.objects.filter(campaign=campaign).count() == 1

    def test_a_cap_holds_under_a_rush(self):
        campaign = make_campaign(daily_cap=7)
        served: list[Campaign | None] = []

        def work(i):
            served.append(services.ad_serve(category=None, every_n_views=1, rng=random.Random(i)))

        self._run(20, work)
        assert sum(ad is not None for ad in served) == 7
        assert counts(campaign).impressions == 7


class TestNothingPerPerson:
    def test_no_ads_model_points_at_a_person(self):
        user_model = apps.get_model(django_settings.AUTH_USER_MODEL)
        for model in apps.get_app_config("ads").get_models():
            for field in model._meta.get_fields():
                assert not (isinstance(field, models.ForeignObject) and field.related_model is user_model), field
                assert not any(word in field.name for word in ("user", "ip", "session", "agent")), field

    def test_showing_and_clicking_write_nothing_about_the_viewer(self, client, person, always):
        campaign = make_campaign()
        session_before = dict(client.session)
        response = feed(client, "home")
        assert card(response)
        assert set(response.cookies) <= {django_settings.CSRF_COOKIE_NAME}  # the dismiss form's, as on any form
        click = client.get(reverse("ads:click", args=[campaign.public_id]))
        assert not click.cookies
        assert dict(client.session) == session_before
        assert list(CampaignDay.objects.values_list("impressions", "clicks")) == [(1, 1)]


class TestAdmin:
    def test_added_in_the_admin_with_the_picture_stripped_of_its_metadata(self, client, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path / "media"
        client.force_login(make_user(username="operator", is_staff=True, is_superuser=True))
        now = timezone.now()
        response = client.post(
            reverse("admin:ads_campaign_add"),
            {
                "name": "Swap",
                "text": "Book swap",
                "link_url": "https://example.org/swap",
                "starts_at_0": now.strftime("%Y-%m-%d"),
                "starts_at_1": "00:00:00",
                "ends_at_0": (now + timedelta(days=3)).strftime("%Y-%m-%d"),
                "ends_at_1": "00:00:00",
                "weight": 2,
                "categories": ["books", "film"],
                "is_active": "on",
                "image": photo_with_gps(size=(300, 200)),
                "days-TOTAL_FORMS": 0,
                "days-INITIAL_FORMS": 0,
            },
        )
        assert response.status_code == 302, response.context["adminform"].form.errors
        campaign = Campaign.objects.get()
        stored = Path(campaign.image.path).read_bytes()
        assert GPS_MARK not in stored
        assert b"Exif" not in stored
        assert (campaign.image_width, campaign.image_height) == (300, 200)
        assert campaign.categories == ["books", "film"]

    def test_a_picture_that_is_not_one_is_refused_next_to_the_field(self):
        form = CampaignForm(
            data={"name": "x", "text": "x", "link_url": "https://example.org", "weight": 1},
            files=MultiValueDict({"image": [SimpleUploadedFile("x.jpg", b"not a picture", content_type="image/jpeg")]}),
        )
        assert not form.is_valid()
        assert "image" in form.errors

    def test_the_list_and_the_form_open_for_staff(self, client):
        admin = make_user(username="operator", is_staff=True, is_superuser=True)
        client.force_login(admin)
        campaign = make_campaign(daily_cap=10, categories=["music"])
        services.ad_serve(category="music", every_n_views=1, rng=random.Random(1))
        services.click_record(campaign=campaign)
        listing = client.get(reverse("admin:ads_campaign_changelist"))
        assert listing.status_code == 200
        assert "1 / 10" in listing.text
        assert "1 (100.0%)" in listing.text
        for query in ["status=live", "status=ended", "targeting=targeted", "targeting=everywhere", "q=Campaign"]:
            assert client.get(reverse("admin:ads_campaign_changelist") + "?" + query).status_code == 200
        assert client.get(reverse("admin:ads_campaign_change", args=[campaign.pk])).status_code == 200
        assert client.get(reverse("admin:ads_campaign_add")).status_code == 200
        assert client.get(reverse("admin:ads_campaignday_changelist")).status_code == 200


def test_the_demo_has_one_house_ad(settings, tmp_path):
    from ads.demo import seed_ads

    settings.MEDIA_ROOT = tmp_path / "media"
    seed_ads(DemoWorld())
    campaign = Campaign.objects.get()
    assert campaign.text.startswith("same is open source")
    assert campaign.link_url == "https://example.org/same"
    assert campaign.categories == []
    assert campaign.image
    assert campaign.image_width == 1200


@pytest.mark.django_db
def test_clicks_from_one_address_are_counted_a_few_times_an_hour(client):
    campaign = Campaign.objects.create(
        name="open source",
        text="Run your own",
        link_url="https://example.org/same",
        starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1),
    )
    for _ in range(5):
        assert client.get(f"/ads/c/{campaign.public_id}").status_code == 302  # the link always works
    assert CampaignDay.objects.get(campaign=campaign).clicks == 3


class TestApi:
    """The same ad, counted the same way, for a native app: GET /api/v1/ads/slot, click, dismiss."""

    def test_a_slot_counts_its_impression_and_carries_the_card(self, client, person, always):
        campaign = make_campaign(text="Book swap on Saturday", link_url="https://example.org/swap")
        answer = client.get("/api/v1/ads/slot", {"where": "home"})
        assert answer.status_code == 200
        ad = answer.json()["ad"]
        assert (ad["id"], ad["text"], ad["link_host"]) == (campaign.public_id, "Book swap on Saturday", "example.org")
        assert ad["click_url"].endswith(reverse("ads:click", args=[campaign.public_id]))
        assert counts(campaign).impressions == 1
        assert "reader" not in answer.content.decode()

    def test_no_ad_where_none_fits(self, client, person, always, settings):
        channel = make_channel(category="moods")
        make_campaign(categories=["music"])
        assert client.get("/api/v1/ads/slot", {"where": "home"}).json() == {"ad": None}
        assert client.get("/api/v1/ads/slot", {"where": "channel", "channel": channel.public_id}).json() == {"ad": None}
        assert client.get("/api/v1/ads/slot", {"where": "nowhere"}).json() == {"ad": None}
        music = make_channel(category="music")
        assert client.get("/api/v1/ads/slot", {"where": "channel", "channel": music.public_id}).json()["ad"]
        settings.ADS_ENABLED = False
        assert client.get("/api/v1/ads/slot", {"where": "channel", "channel": music.public_id}).json() == {"ad": None}

    def test_click_counts_and_answers_the_stored_link(self, client, person):
        campaign = make_campaign(link_url="https://example.org/swap")
        answer = client.post(f"/api/v1/ads/{campaign.public_id}/click")
        assert answer.json() == {"url": "https://example.org/swap"}
        assert counts(campaign).clicks == 1
        missing = client.post("/api/v1/ads/nope/click")
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    def test_dismiss_counts_and_says_until_when(self, client, person):
        campaign = make_campaign()
        answer = client.post(
            "/api/v1/ads/dismiss", {"ad_id": campaign.public_id}, content_type="application/json"
        ).json()
        hidden_until = timezone.datetime.fromisoformat(answer["hidden_until"])
        assert timedelta(hours=23) < hidden_until - timezone.now() <= timedelta(hours=24)
        assert counts(campaign).dismissals == 1
        assert client.post("/api/v1/ads/dismiss", {"ad_id": "nope"}, content_type="application/json").status_code == 200

    def test_signed_out_is_401(self, client):
        assert client.get("/api/v1/ads/slot", {"where": "home"}).status_code == 401
