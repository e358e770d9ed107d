"""Recommendations in a real browser on a phone (390×844): Explore opens with "Channels for you",
each card with its reason and a "Not interested" button; Discover shows posts with their reasons.
Screenshots land in test-artifacts/screenshots/recs-*.png."""

from playwright.sync_api import expect

from interests.services import channel_join
from posts.services import post_create_text
from recommendations.recompute import recompute_everyone
from tests.browser.conftest import Shot, SignIn
from tests.factories import make_channel, make_user


def a_small_town():
    """Insomnia's members also like Night walks and Rainy days; other channels across categories."""
    insomnia = make_channel(name="Insomnia", category="moods", description="Awake at 3 a.m.? You're not alone.")
    walks = make_channel(name="Night walks", category="life", description="Streets after midnight, quiet and kind.")
    rain = make_channel(name="Rainy days", category="moods", description="The sound on the window.")
    others = [
        make_channel(name="失眠的人", category="moods", description="睡不着的时候，来这里说说话。"),
        make_channel(name="Songs I loop", category="music", kind="music", description="The one song on repeat."),
        make_channel(name="Show me your shoes", category="life", kind="image", description="The shoes you wore."),
        make_channel(name="Early birds", category="rituals", description="Up before six."),
    ]
    for _ in range(4):
        person = make_user()
        for channel in (insomnia, walks, rain):
            channel_join(user=person, channel=channel)
    writer = make_user(username="lamplight")
    for channel in (walks, rain, others[0]):
        channel_join(user=writer, channel=channel)
    post_create_text(author=writer, channel=walks, text="Walked to the river at 2 a.m. The city hums differently.")
    post_create_text(author=writer, channel=rain, text="Rain on the skylight, the best sound to fall asleep to.")
    post_create_text(author=writer, channel=others[0], text="又是三点，窗外很安静。")
    viewer = make_user(username="maple")
    channel_join(user=viewer, channel=insomnia)
    recompute_everyone()
    return viewer


def test_channels_for_you_and_discover_on_a_phone(signed_in: SignIn, shot: Shot):
    viewer = a_small_town()
    page = signed_in(viewer)
    page.goto("/explore")
    strip = page.locator("#for-you")
    expect(strip.get_by_role("heading", name="Channels for you")).to_be_visible()
    walks = strip.locator(".rec-card", has_text="Night walks")
    expect(walks.locator(".rec-reason")).to_have_text("Because you joined Insomnia")
    expect(strip.locator(".rec-card", has_text="Insomnia").filter(has_text="Awake")).to_have_count(0)
    expect(strip.locator(".rec-card").first).to_be_in_viewport()
    shot(page, "recs-explore-for-you", full_page=False)

    rain = strip.locator(".rec-card", has_text="Rainy days")
    rain.get_by_role("button", name="Not interested in Rainy days").tap()
    expect(rain).to_have_count(0)
    page.reload()
    expect(page.locator("#for-you .rec-card", has_text="Night walks")).to_be_visible()
    expect(page.locator("#for-you .rec-card", has_text="Rainy days")).to_have_count(0)

    page.locator("#for-you").get_by_role("link", name="Discover posts").tap()
    expect(page.get_by_role("heading", name="Discover", exact=True)).to_be_visible()
    item = page.locator(".rec-item", has_text="Walked to the river")
    expect(item.locator(".rec-reason")).to_have_text("Because you joined Insomnia")
    expect(page.locator(".rec-item", has_text="Rain on the skylight")).to_have_count(0)
    shot(page, "recs-discover")

    item.get_by_role("button", name="same").tap()
    expect(item.get_by_role("button", name="same")).to_have_attribute("aria-pressed", "true")
    item.get_by_role("button", name="Not interested in this post").tap()
    expect(page.locator(".rec-item", has_text="Walked to the river")).to_have_count(0)

    page.get_by_role("button", name="Turn off").tap()
    expect(page.get_by_text("Not personalised")).to_be_visible()
    page.goto("/explore")
    expect(page.locator("#for-you")).to_contain_text("Personalisation is off")
    expect(page.locator("#for-you .rec-reason", has_text="Because you")).to_have_count(0)
    shot(page, "recs-explore-not-personalised", full_page=False)


def test_a_newcomer_gets_a_varied_start(signed_in: SignIn, shot: Shot):
    for i, (name, category) in enumerate(
        [("Insomnia", "moods"), ("Night walks", "life"), ("Songs I loop", "music"), ("Cats", "pets"), ("Bread", "food")]
    ):
        make_channel(name=name, category=category, description=f"A channel about {name.lower()}.")
        del i
    page = signed_in(make_user(username="newcomer"))
    page.goto("/explore")
    cards = page.locator("#for-you .rec-card")
    expect(cards).to_have_count(5)
    expect(page.locator("#for-you .rec-reason").first).to_have_text(
        __import__("re").compile(r"^(Popular|Active|New) in ")
    )
    shot(page, "recs-explore-newcomer", full_page=False)
