"""Channels and posts, in a real browser on a phone: people open channels of every kind, post
photos, songs, films and polls, vote, press *same*, search, trip over errors and scroll Home.
Screenshots land in test-artifacts/screenshots/channels-*.png."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from interests.models import Channel
from interests.services import channel_join
from posts.models import Ballot, Movie, Post, PostImage, Same, Song
from posts.services import post_create_text
from tests.browser.conftest import Shot, htmx_settled
from tests.factories import make_channel, make_user
from tests.samples import GPS_MARK, TAG_MARK, photo_with_gps, png, song

pytestmark = pytest.mark.usefixtures("media_root")

CHANNEL_OPEN = "Your channel is open. Say the first thing."
# Set on the page's window: still there afterwards means the page was not reloaded.
MARK_PAGE = "window.__sameMark = 'still here'"
PAGE_IS_MARKED = "window.__sameMark === 'still here'"


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(r"^https?://[^/]+" + re.escape(path) + r"(\?[^#]*)?(#.*)?$")


def saved(tmp_path: Path, upload: SimpleUploadedFile, name: str | None = None) -> Path:
    """A sample file written where the browser's file picker can find it."""
    path = tmp_path / (name or upload.name or "upload")
    path.write_bytes(upload.read())
    return path


def field_of(page: Page, input_id: str) -> Locator:
    """The block of one form field: its label, input, errors and help."""
    return page.locator(".field", has=page.locator(f"#{input_id}"))


def post_card(page: Page, text: str) -> Locator:
    return page.locator("li.post", has_text=text)


def open_composer(page: Page) -> Locator:
    box = page.locator("details.composer-box")
    page.locator("summary", has_text="Post in this channel").tap()
    expect(box).to_have_attribute("open", "")
    return box


def tap_post(page: Page) -> None:
    page.locator("details.composer-box").get_by_role("button", name="Post", exact=True).tap()


def images_loaded(page: Page, images: Locator) -> None:
    """Every image of the locator shows (thumbnails load lazily: each is brought on screen first)."""
    for image in images.element_handles():
        image.scroll_into_view_if_needed()
        page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=image)


def clear_of_tab_bar(page: Page, locator: Locator) -> None:
    """Scrolled to the end of the page, the element stands clear of the bottom tab bar."""
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    box = locator.bounding_box()
    bar = page.get_by_role("navigation", name="Main").bounding_box()
    assert box is not None
    assert bar is not None
    assert box["y"] + box["height"] <= bar["y"], "the tab bar covers the end of the page"


def open_channel_with_the_form(
    page: Page,
    shot: Shot,
    *,
    name: str,
    kind: str,
    category: str,
    description: str = "",
    rule: str = "",
    cover: Path | None = None,
) -> Channel:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explore", exact=True).tap()
    expect(page).to_have_url(path_is("/explore"))
    page.get_by_role("link", name="New channel").tap()
    expect(page).to_have_url(path_is("/channels/new"))
    page.locator("#id_name").fill(name)
    page.locator("label.kind-option", has=page.locator(f"input[name=kind][value={kind}]")).tap()
    expect(page.locator(f"input[name=kind][value={kind}]")).to_be_checked()
    page.locator("#id_category").select_option(category)
    page.locator("#id_description").fill(description)
    page.locator("#id_rule").fill(rule)
    if cover is not None:
        page.locator("#id_cover").set_input_files(cover)
    shot(page, f"channels-new-{kind}-form")
    page.get_by_role("button", name="Open the channel").tap()

    expect(page.locator(".toast")).to_have_text(CHANNEL_OPEN)
    channel = Channel.objects.get(name=name)
    expect(page).to_have_url(path_is(f"/c/{channel.public_id}"))
    expect(page.get_by_role("heading", level=1, name=name)).to_be_visible()
    expect(page.get_by_role("button", name="Joined ✓ · Leave")).to_be_visible()
    assert channel.kind == kind
    assert channel.category == category
    assert channel.member_count == 1
    return channel


COMPOSER_FIELDS = {
    "text": ["id_text"],
    "image": ["id_images", "id_text"],
    "music": ["id_title", "id_artist", "id_audio", "id_cover", "id_text"],
    "movie": ["id_title", "id_year", "id_review", "id_poster"],
    "vote": ["id_question", "id_options", "id_multiple", "id_closes_at"],
}


def test_open_a_channel_of_every_kind(signed_in, shot, tmp_path, media_root):
    host = make_user(username="harbor")
    page = signed_in(host)
    cover = saved(tmp_path, png((600, 200), name="cover.png"))
    kinds = [
        ("text", "Insomnia", "moods", "For the nights sleep won't come.", "Say what keeps you up.", None),
        ("image", "Show me your shoes", "photography", "Shoes, worn or new.", "One pair per post.", cover),
        ("music", "Songs I loop", "music", "The ones you can't stop playing.", "", None),
        ("movie", "Films that stayed", "film", "", "Films you still think about.", None),
        ("vote", "Tea or coffee", "food", "Little questions, big feelings.", "", None),
        ("punch", "Early birds", "rituals", "Up before seven.", "Punch in when you get up.", None),
    ]
    for kind, name, category, description, rule, picture in kinds:
        channel = open_channel_with_the_form(
            page, shot, name=name, kind=kind, category=category, description=description, rule=rule, cover=picture
        )
        if kind == "punch":
            # Nothing is posted by hand in a punch channel: no composer, and the page still reads well.
            expect(page.locator("details.composer-box")).to_have_count(0)
            expect(page.get_by_text("members punch in here once a day. No punches yet.")).to_be_visible()
            clear_of_tab_bar(page, page.locator("main > :last-child"))
            shot(page, f"channels-new-{kind}-page")
            continue
        shot(page, f"channels-new-{kind}-page")
        box = open_composer(page)
        for input_id in COMPOSER_FIELDS[kind]:
            expect(box.locator(f"#{input_id}")).to_be_visible()
        if kind == "movie":
            expect(box.locator("label.star-option")).to_have_count(5)
        clear_of_tab_bar(page, box.get_by_role("button", name="Post", exact=True))
        shot(page, f"channels-new-{kind}-composer")
        if picture is not None:
            cover_image = page.locator("img.channel-cover")
            images_loaded(page, cover_image)
            assert channel.cover
            stored = Path(channel.cover.path)
            assert stored.is_relative_to(media_root)
            with Image.open(stored) as opened:
                assert opened.size[0] > 0

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explore", exact=True).tap()
    cards = page.locator("#channel-results a.channel-card")
    expect(cards).to_have_count(6)
    expect(cards.filter(has_text="Show me your shoes").locator("img.channel-cover-sm")).to_be_visible()
    shot(page, "channels-explore-all-kinds")
    assert Channel.objects.filter(host=host).count() == 6


def test_photos_are_posted_without_their_gps(signed_in, shot, tmp_path, media_root):
    host = make_user(username="cobbler")
    channel = make_channel(host=host, name="Show me your shoes", kind="image", category="photography")
    page = signed_in(host)
    page.goto(f"/c/{channel.public_id}")
    open_composer(page)
    photos = [
        saved(tmp_path, photo_with_gps((640, 480), name="IMG_0001.jpg")),
        saved(tmp_path, photo_with_gps((480, 640), name="IMG_0002.jpg")),
    ]
    page.locator("#id_images").set_input_files(photos)
    page.locator("#id_text").fill("New shoes, old streets.")
    shot(page, "channels-photos-01-composer")
    tap_post(page)

    expect(page).to_have_url(path_is(f"/c/{channel.public_id}"))
    card = post_card(page, "New shoes, old streets.")
    thumbnails = card.locator(".photos img")
    expect(thumbnails).to_have_count(2)
    images_loaded(page, thumbnails)
    shot(page, "channels-photos-02-posted")

    post = Post.objects.get(channel=channel)
    stored = list(PostImage.objects.filter(post=post).order_by("position"))
    assert len(stored) == 2
    for image in stored:
        for file in (image.image, image.thumb):
            on_disk = Path(file.path)
            assert on_disk.is_relative_to(media_root)
            assert GPS_MARK not in on_disk.read_bytes()
            with Image.open(on_disk) as opened:
                assert not opened.getexif(), f"{file.name} still has EXIF"
                assert "exif" not in opened.info
        assert "IMG_000" not in str(image.image.name), "stored names say nothing of the original file"

    # A thumbnail opens the photo at full size (Chromium then asks for /favicon.ico, which redirects to the logo).
    with page.context.expect_page() as opened_tab:
        card.locator("a.photo").first.tap()
    full = opened_tab.value
    full.wait_for_load_state()
    assert full.url.endswith(stored[0].image.url)
    shot(full, "channels-photos-03-full-size")


def test_songs_play_without_their_tags_or_with_a_name_alone(signed_in, shot, tmp_path):
    host = make_user(username="looper")
    channel = make_channel(host=host, name="Songs I loop", kind="music", category="music")
    page = signed_in(host)
    page.goto(f"/c/{channel.public_id}")
    open_composer(page)
    page.locator("#id_title").fill("A tone at 440")
    page.locator("#id_artist").fill("The Tuning Forks")
    page.locator("#id_audio").set_input_files(saved(tmp_path, song()))
    page.locator("#id_text").fill("It hums me to sleep.")
    shot(page, "channels-songs-01-composer")
    tap_post(page)

    card = post_card(page, "It hums me to sleep.")
    expect(card.locator(".song-title")).to_have_text("A tone at 440")
    expect(card.get_by_text("The Tuning Forks")).to_be_visible()
    audio = card.locator("audio")
    expect(audio).to_have_count(1)
    stored = Song.objects.get(title="A tone at 440")
    assert audio.get_attribute("src") == stored.audio.url
    assert TAG_MARK.encode() not in Path(stored.audio.path).read_bytes()
    duration = audio.evaluate(
        """audio => new Promise(done => {
            audio.addEventListener("loadedmetadata", () => done(audio.duration), {once: true});
            audio.addEventListener("error", () => done(-1), {once: true});
            audio.preload = "metadata";
            audio.load();
        })"""
    )
    assert 1.0 < duration < 2.5, "the stored song plays in the page, as long as the upload"
    shot(page, "channels-songs-02-posted")

    open_composer(page)
    page.locator("#id_title").fill("Clair de lune")
    page.locator("#id_artist").fill("Claude Debussy")
    tap_post(page)
    named = page.locator("li.post", has=page.locator(".song-title", has_text="Clair de lune"))
    expect(named).to_be_visible()
    expect(named.get_by_text("Claude Debussy")).to_be_visible()
    expect(named.locator("audio")).to_have_count(0)
    expect(page.locator("li.post audio")).to_have_count(1)
    shot(page, "channels-songs-03-by-name")
    assert Song.objects.get(title="Clair de lune").audio.name == ""


def post_film(page: Page, shot: Shot, name: str, *, title: str, year: str, stars: int, review: str) -> None:
    open_composer(page)
    page.locator("#id_title").fill(title)
    page.locator("#id_year").fill(year)
    star = page.locator(f"input[name=rating][value='{stars}']")
    page.locator("label.star-option", has=star).tap()
    expect(page.get_by_role("radio", name=f"{stars} stars", exact=True)).to_be_checked()
    # The chosen star and those before it light up; the others stay pale.
    lit = "rgb(242, 169, 59)"  # #f2a93b
    for n in range(1, 6):
        color = page.locator(f"label.star-option:has(input[value='{n}']) .star")
        if n <= stars:
            expect(color).to_have_css("color", lit)
        else:
            expect(color).not_to_have_css("color", lit)
    page.locator("#id_review").fill(review)
    shot(page, name)
    tap_post(page)


def test_two_people_post_the_same_film(signed_in, shot):
    host = make_user(username="projector")
    channel = make_channel(host=host, name="Films that stayed", kind="movie", category="film")
    page = signed_in(host)
    page.goto(f"/c/{channel.public_id}")
    post_film(
        page,
        shot,
        "channels-film-00-composer",
        title="Spirited Away",
        year="2001",
        stars=5,
        review="The bathhouse still visits my dreams.",
    )
    first = post_card(page, "The bathhouse still visits my dreams.")
    expect(first.locator(".movie-title")).to_contain_text("Spirited Away")
    expect(first.locator(".stars .on")).to_have_count(5)
    expect(first.locator(".film-stats")).to_have_count(0)
    shot(page, "channels-film-01-first")

    other = make_user(username="usher")
    second_page = signed_in(other)
    second_page.goto(f"/c/{channel.public_id}")
    expect(second_page.locator("details.composer-box")).to_have_count(0)
    second_page.get_by_role("button", name="Join").tap()
    expect(second_page.get_by_role("button", name="Joined ✓ · Leave")).to_be_visible()
    post_film(
        second_page,
        shot,
        "channels-film-01b-second-composer",
        title="spirited  away",
        year="2001",
        stars=4,
        review="No-Face and me, on a quiet train.",
    )
    second = post_card(second_page, "No-Face and me, on a quiet train.")
    expect(second.locator(".stars .on")).to_have_count(4)
    expect(second.locator(".film-stats")).to_contain_text("1 other in this channel posted this film")
    shot(second_page, "channels-film-02-second")

    page.reload()
    expect(post_card(page, "The bathhouse still visits my dreams.").locator(".film-stats")).to_contain_text(
        "1 other in this channel posted this film"
    )
    assert Movie.objects.filter(post__channel=channel).count() == 2


def test_vote_once_and_see_the_results_in_place(signed_in, shot):
    host = make_user(username="pollster")
    channel = make_channel(host=host, name="Tea or coffee", kind="vote", category="food")
    page = signed_in(host)
    page.goto(f"/c/{channel.public_id}")
    open_composer(page)
    page.locator("#id_question").fill("What do you drink at midnight?")
    page.locator("#id_options").fill("Tea\nCoffee\nJust water")
    shot(page, "channels-poll-01-composer")
    tap_post(page)
    expect(page.get_by_text("What do you drink at midnight?")).to_be_visible()
    shot(page, "channels-poll-02-posted")

    voter = make_user(username="night_owl")
    their_page = signed_in(voter)
    their_page.goto(f"/c/{channel.public_id}")
    their_page.get_by_role("button", name="Join").tap()
    expect(their_page.get_by_role("button", name="Joined ✓ · Leave")).to_be_visible()
    poll = their_page.locator(".poll")
    expect(poll.locator("input[name=option]")).to_have_count(3)
    poll.locator("label.poll-choice", has_text="Coffee").tap()
    expect(poll.get_by_role("radio", name="Coffee")).to_be_checked()
    shot(their_page, "channels-poll-03-choosing")
    their_page.evaluate(MARK_PAGE)
    poll.get_by_role("button", name="Vote").tap()

    results = poll.locator(".poll-results li")
    expect(results).to_have_count(3)
    expect(results.filter(has_text="Coffee")).to_contain_text("100%")
    expect(results.filter(has_text="Coffee")).to_have_class(re.compile(r"\bmine\b"))
    expect(results.filter(has_text="Tea")).to_contain_text("0%")
    expect(results.filter(has_text="Just water")).to_contain_text("0%")
    expect(poll).to_contain_text("1 vote")
    assert their_page.evaluate(PAGE_IS_MARKED), "the results came in place, without a reload"
    expect(poll.locator("input[name=option]")).to_have_count(0)
    expect(poll.get_by_role("button", name="Vote")).to_have_count(0)
    shot(their_page, "channels-poll-04-results")

    their_page.reload()
    expect(their_page.locator(".poll-results li")).to_have_count(3)
    expect(their_page.locator(".poll").get_by_role("button", name="Vote")).to_have_count(0)
    assert Ballot.objects.filter(user=voter).count() == 1


def test_same_is_pressed_in_place_and_the_author_sees_who(signed_in, shot):
    host = make_user(username="sleepless")
    channel = make_channel(host=host, name="Insomnia", kind="text", category="moods")
    post = post_create_text(author=host, channel=channel, text="3 a.m. again, and the fridge hums in D minor.")

    other = make_user(username="kindred")
    page = signed_in(other)
    page.goto(f"/c/{channel.public_id}")
    card = post_card(page, "the fridge hums in D minor")
    same = card.locator("button.same")
    expect(same).to_have_attribute("aria-pressed", "false")
    expect(same.locator(".same-count")).to_have_text("0")
    page.evaluate(MARK_PAGE)

    same.tap()
    expect(same).to_have_attribute("aria-pressed", "true")
    expect(same.locator(".same-count")).to_have_text("1")
    expect(same).to_have_class(re.compile(r"\bpressed\b"))
    shot(page, "channels-same-01-pressed")
    same.tap()
    expect(same).to_have_attribute("aria-pressed", "false")
    expect(same.locator(".same-count")).to_have_text("0")
    shot(page, "channels-same-02-unpressed")
    same.tap()
    expect(same).to_have_attribute("aria-pressed", "true")
    expect(same.locator(".same-count")).to_have_text("1")
    assert page.evaluate(PAGE_IS_MARKED), "same was pressed in place, without a reload"
    assert Same.objects.filter(post=post, user=other).count() == 1

    # Another reader's view of the post page has no list of names.
    card.locator("a.post-time").tap()
    expect(page).to_have_url(path_is(f"/p/{post.public_id}"))
    expect(page.get_by_role("heading", name="Who felt the same")).to_have_count(0)

    author = signed_in(host)
    author.goto(f"/c/{channel.public_id}")
    mine = post_card(author, "the fridge hums in D minor")
    expect(mine.locator("button.same")).to_have_count(0)
    expect(mine.locator(".same-count.mine")).to_have_text("1 felt the same")
    mine.locator("a.post-time").tap()
    expect(author).to_have_url(path_is(f"/p/{post.public_id}"))
    expect(author.get_by_role("heading", name="Who felt the same")).to_be_visible()
    expect(author.locator("main .list")).to_have_text("kindred")
    expect(author.get_by_role("button", name="Delete this post")).to_be_visible()
    clear_of_tab_bar(author, author.get_by_role("button", name="Delete this post"))
    shot(author, "channels-same-03-author-sees-who")


def test_search_channels_live_in_english_and_chinese(signed_in, shot):
    host = make_user(username="finder")
    make_channel(host=host, name="Insomnia club", description="Awake at 3 a.m.", kind="text", category="moods")
    make_channel(host=host, name="失眠的人", description="睡不着的夜晚", kind="text", category="moods")
    make_channel(host=host, name="Early birds", description="Up before seven", kind="punch", category="rituals")
    page = signed_in(host)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explore", exact=True).tap()
    results = page.locator("#channel-results")
    cards = results.locator("a.channel-card")
    expect(cards).to_have_count(3)
    shot(page, "channels-search-01-all")

    documents: list[str] = []
    page.on("request", lambda request: documents.append(request.url) if request.resource_type == "document" else None)
    page.evaluate(MARK_PAGE)
    search = page.get_by_role("searchbox", name="Search channels")
    htmx_settled(page)  # typed before htmx binds the box, "insom" would send no search
    search.press_sequentially("insom", delay=30)
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Insomnia club")
    expect(page).to_have_url(re.compile(r"[?&]q=insom\b"))
    shot(page, "channels-search-02-insom")

    search.fill("失眠")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("失眠的人")
    shot(page, "channels-search-03-chinese")

    search.fill("zebra crossings at noon")
    empty = results.locator(".empty")
    expect(empty.get_by_role("heading")).to_have_text("No channel matches “zebra crossings at noon”")
    expect(empty.get_by_role("link", name="Create a channel")).to_be_visible()
    expect(cards).to_have_count(0)
    shot(page, "channels-search-04-nothing")

    assert documents == [], "results came live, without loading a page"
    assert page.evaluate(PAGE_IS_MARKED)


def test_a_name_taken_in_other_letters_is_refused_next_to_the_name(signed_in, shot):
    make_channel(name="Night Owls")
    page = signed_in(make_user(username="owlet"))
    page.goto("/channels/new")
    page.locator("#id_name").fill("night OWLS")
    page.locator("label.kind-option", has=page.locator("input[name=kind][value=text]")).tap()
    page.locator("#id_category").select_option("moods")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/channels/new")) as sent:
        page.get_by_role("button", name="Open the channel").tap()
    assert sent.value.status == 400
    name = field_of(page, "id_name")
    expect(name.locator(".errorlist")).to_have_text("A channel with this name exists already.")
    expect(name).to_have_class(re.compile(r"\binvalid\b"))
    expect(page.locator("#id_name")).to_have_value("night OWLS")
    expect(page.locator("#id_category")).to_have_value("moods")
    shot(page, "channels-error-name-taken")
    assert Channel.objects.count() == 1


def test_an_empty_post_is_refused_in_the_open_composer(signed_in, shot):
    host = make_user(username="hushed")
    channel = make_channel(host=host, name="Insomnia", kind="text", category="moods")
    page = signed_in(host)
    page.goto(f"/c/{channel.public_id}")
    open_composer(page)
    page.locator("#id_text").fill("   \n  ")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/post")) as sent:
        tap_post(page)
    assert sent.value.status == 400
    expect(page.locator("details.composer-box")).to_have_attribute("open", "")
    expect(field_of(page, "id_text").locator(".errorlist")).to_have_text("Write something first.")
    expect(field_of(page, "id_text")).to_have_class(re.compile(r"\binvalid\b"))
    shot(page, "channels-error-empty-post")
    assert not Post.objects.exists()


def test_a_text_file_is_refused_as_a_photo(signed_in, shot, tmp_path, media_root):
    host = make_user(username="snapper")
    channel = make_channel(host=host, name="Show me your shoes", kind="image", category="photography")
    page = signed_in(host)
    page.goto(f"/c/{channel.public_id}")
    open_composer(page)
    notes = tmp_path / "notes.txt"
    notes.write_text("Not a photo: a list of shoes I want.\n", encoding="utf-8")
    page.locator("#id_images").set_input_files(notes)
    page.locator("#id_text").fill("My wish list")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/post")) as sent:
        tap_post(page)
    assert sent.value.status == 400
    expect(page.locator("details.composer-box")).to_have_attribute("open", "")
    photos = field_of(page, "id_images")
    expect(photos.locator(".errorlist")).to_contain_text("This file isn't an image we can read")
    expect(photos).to_have_class(re.compile(r"\binvalid\b"))
    expect(page.locator("#id_text")).to_have_value("My wish list")
    shot(page, "channels-error-not-a-photo")
    assert not Post.objects.exists()
    assert not PostImage.objects.exists()
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


def test_home_shows_joined_channels_and_scrolls_on(signed_in, shot):
    poster = make_user(username="lark")
    joined = make_channel(host=poster, name="Early risers", kind="text", category="rituals")
    elsewhere = make_channel(host=poster, name="Night shift", kind="text", category="work")
    post_create_text(author=poster, channel=elsewhere, text="Not for you: a channel you never joined.")
    for n in range(1, 26):
        post_create_text(author=poster, channel=joined, text=f"Morning note {n:02d}")

    reader = make_user(username="wren")
    page = signed_in(reader)
    expect(page.get_by_role("heading", name="Your home is the channels you join")).to_be_visible()
    shot(page, "channels-home-01-empty")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explore", exact=True).tap()
    page.locator("a.channel-card", has_text="Early risers").tap()
    page.get_by_role("button", name="Join").tap()
    expect(page.get_by_role("button", name="Joined ✓ · Leave")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Home", exact=True).tap()

    posts = page.locator("ol.feed > li.post")
    expect(posts).to_have_count(20)
    expect(posts.first).to_contain_text("Morning note 25")
    expect(posts.first.locator(".post-channel")).to_have_text("Early risers")
    expect(page.get_by_text("Not for you")).to_have_count(0)
    shot(page, "channels-home-02-first-page", full_page=False)

    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(posts).to_have_count(25)
    expect(posts.last).to_contain_text("Morning note 01")
    expect(page.locator("ol.feed li.more")).to_have_count(0)
    expect(page.get_by_text("Not for you")).to_have_count(0)
    clear_of_tab_bar(page, posts.last)
    shot(page, "channels-home-03-scrolled", full_page=False)


def test_the_next_page_is_fetched_when_the_reader_gets_there(signed_in):
    """The lists' last item asks for the next page once it comes into view (`intersect once`), not before."""
    poster = make_user(username="heron")
    channel = make_channel(host=poster, name="Tide tables", kind="text", category="rituals")
    for n in range(1, 26):
        post_create_text(author=poster, channel=channel, text=f"Low tide {n:02d}")
    for n in range(1, 24):
        make_channel(host=poster, name=f"Harbour {n:02d}", kind="text", category="life")
    reader = make_user(username="egret")
    channel_join(user=reader, channel=channel)
    page = signed_in(reader)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url) if "cursor=" in request.url else None)

    posts = page.locator("ol.feed > li.post")
    expect(posts).to_have_count(20)
    page.wait_for_timeout(800)
    assert asked == []
    expect(posts).to_have_count(20)
    page.locator("ol.feed li.more").scroll_into_view_if_needed()
    expect(posts).to_have_count(25)
    expect(page.locator("ol.feed li.more")).to_have_count(0)
    assert len(asked) == 1

    asked.clear()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Explore", exact=True).tap()
    cards = page.locator("#channel-results a.channel-card")
    expect(cards).to_have_count(20)
    page.wait_for_timeout(800)
    assert asked == []
    page.locator("#channel-results li.more").scroll_into_view_if_needed()
    expect(cards).to_have_count(24)
    expect(page.locator("#channel-results li.more")).to_have_count(0)
    assert len(asked) == 1


def test_posts_loaded_by_scrolling_home_name_their_channel(signed_in):
    poster = make_user(username="thrush")
    channel = make_channel(host=poster, name="Early risers", kind="text", category="rituals")
    for n in range(1, 23):
        post_create_text(author=poster, channel=channel, text=f"Dawn note {n:02d}")
    reader = make_user(username="robin")
    channel_join(user=reader, channel=channel)
    page = signed_in(reader)
    posts = page.locator("ol.feed > li.post")
    expect(posts).to_have_count(20)
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    expect(posts).to_have_count(22)
    expect(posts.last.locator(".post-channel")).to_have_text("Early risers", timeout=2_000)
