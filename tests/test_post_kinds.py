import gc
import re
import threading
import weakref
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.db.models import Count, Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.services import user_delete
from core.errors import ServiceError, ValidationFailed
from interests.services import channel_join
from moderation.services import take_down
from posts import selectors
from posts.cards import _file_url
from posts.models import Ballot, FilmTally, Movie, Post, PostImage, Song
from posts.movies import post_create_movie
from posts.photos import post_create_photos
from posts.polls import poll_vote, post_create_poll
from posts.services import post_create_text, post_delete
from posts.songs import post_create_song
from posts.templatetags import composer as composer_tags
from tests.factories import PASSWORD, make_channel, make_user
from tests.samples import GPS_MARK, TAG_MARK, photo_with_gps, png, song

pytestmark = pytest.mark.django_db


def stored_files(settings) -> list[Path]:
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def channel_of(kind: str):
    host = make_user()
    return host, make_channel(name=f"A {kind} channel of {host.username}", kind=kind, host=host)


class TestPhotos:
    def test_photo_cards_link_the_stored_files_as_their_fields_do(self, client, media_root):
        """The cards write a photo's addresses from the stored name (posts/cards.py `_file_url`): the same as
        `image.url` and `thumb.url`, before and after the field was read, and on the page."""
        host, channel = channel_of("image")
        post = post_create_photos(author=host, channel=channel, images=[png(), png()])
        images = list(PostImage.objects.filter(post=post).order_by("position"))
        fresh = [(_file_url(i, "image"), _file_url(i, "thumb")) for i in images]
        assert fresh == [(i.image.url, i.thumb.url) for i in images]
        assert [(_file_url(i, "image"), _file_url(i, "thumb")) for i in images] == fresh  # FieldFiles by now
        assert all(url.startswith("/media/") for pair in fresh for url in pair)
        client.force_login(host)
        page = client.get(reverse("interests:channel", args=[channel.public_id])).text
        for image_url, thumb_url in fresh:
            assert f'<a href="{image_url}" class="photo"' in page
            assert f'<img src="{thumb_url}"' in page

    def test_photos_are_stored_without_gps_and_with_thumbnails(self, media_root, settings):
        host, channel = channel_of("image")
        post = post_create_photos(author=host, channel=channel, images=[photo_with_gps(), png()], text="new shoes")
        images = list(PostImage.objects.filter(post=post))
        assert [i.position for i in images] == [0, 1]
        for image in images:
            data = Path(image.image.path).read_bytes()
            assert GPS_MARK not in data
            with Image.open(image.image.path) as opened:
                assert not opened.getexif()
                assert "exif" not in opened.info
            assert Path(image.thumb.path).exists()
            assert not str(image.image.name).endswith("IMG_0001.jpg")  # the uploaded name is never kept
        assert (images[0].width, images[0].height) == (60, 40)

    @pytest.mark.parametrize(
        ("files", "code"),
        [
            ([], "required"),
            ([png() for _ in range(10)], "too_many"),
            ([SimpleUploadedFile("x.jpg", b"not an image at all")], "unsupported_format"),
        ],
    )
    def test_refusals_store_nothing(self, media_root, settings, files, code):
        host, channel = channel_of("image")
        with pytest.raises(ServiceError) as caught:
            post_create_photos(author=host, channel=channel, images=files)
        assert caught.value.code == code
        assert not Post.objects.exists()
        assert stored_files(settings) == []

    def test_one_bad_photo_among_good_ones_leaves_no_orphans(self, media_root, settings):
        host, channel = channel_of("image")
        truncated = photo_with_gps().read()[:300]
        with pytest.raises(ServiceError):
            post_create_photos(author=host, channel=channel, images=[png(), SimpleUploadedFile("cut.jpg", truncated)])
        assert stored_files(settings) == []
        assert not PostImage.objects.exists()

    def test_deleting_the_post_deletes_its_files(self, media_root, settings):
        host, channel = channel_of("image")
        post = post_create_photos(author=host, channel=channel, images=[png()])
        assert len(stored_files(settings)) == 2
        post_delete(post=post, by=host)
        assert stored_files(settings) == []


class TestSongs:
    def test_uploaded_song_loses_its_tags(self, media_root, settings):
        host, channel = channel_of("music")
        post = post_create_song(author=host, channel=channel, title="Loop", artist="Someone", audio=song(), cover=png())
        stored = Song.objects.get(post=post)
        assert TAG_MARK.encode() not in Path(stored.audio.path).read_bytes()
        assert stored.duration_s == pytest.approx(1.5, abs=0.1)
        assert stored.audio_mime.startswith("audio/")
        assert stored.cover

    def test_title_and_artist_alone(self, media_root):
        host, channel = channel_of("music")
        post = post_create_song(author=host, channel=channel, title="Clair de lune", artist="Debussy")
        assert not Song.objects.get(post=post).audio

    def test_refusals(self, media_root, settings):
        host, channel = channel_of("music")
        with pytest.raises(ValidationFailed) as caught:
            post_create_song(author=host, channel=channel, title="", artist="")
        assert set(caught.value.fields) == {"title", "artist"}
        renamed_png = SimpleUploadedFile("song.mp3", png().read(), content_type="audio/mpeg")
        with pytest.raises(ServiceError) as refused:
            post_create_song(author=host, channel=channel, title="a", artist="b", audio=renamed_png)
        assert refused.value.code == "unsupported_format"
        assert refused.value.field == "audio"
        assert not Post.objects.exists()
        assert stored_files(settings) == []

    def test_a_song_over_ten_minutes_is_refused(self, media_root, settings, monkeypatch):
        host, channel = channel_of("music")
        monkeypatch.setattr("posts.songs.SONG_MAX_SECONDS", 1.0)
        with pytest.raises(ServiceError) as caught:
            post_create_song(author=host, channel=channel, title="a", artist="b", audio=song(seconds=3))
        assert caught.value.code == "too_long"
        assert stored_files(settings) == []


class TestMovies:
    def test_the_channel_counts_others_who_posted_the_film(self, media_root):
        host, channel = channel_of("movie")
        friend = make_user()
        channel_join(user=friend, channel=channel)
        post_create_movie(author=host, channel=channel, title="Perfect Days", year=2023, rating=5, review="quiet")
        second = post_create_movie(author=friend, channel=channel, title="perfect  days", year="2023", rating=4)
        post_create_movie(author=friend, channel=channel, title="Perfect Days", year=1990, rating=1)  # another film
        shown = selectors.post_get(viewer=host, public_id=second.public_id)
        assert shown.film_others == 1
        assert shown.film_average == 5.0  # the other person's 5 stars, not this post's own 4

    @pytest.mark.parametrize(
        ("fields", "bad"),
        [
            ({"title": "", "year": 2000, "rating": 3}, "title"),
            ({"title": "x", "year": 1200, "rating": 3}, "year"),
            ({"title": "x", "year": "next", "rating": 3}, "year"),
            ({"title": "x", "year": 2000, "rating": 6}, "rating"),
            ({"title": "x", "year": 2000, "rating": None}, "rating"),
            ({"title": "x", "year": 2000, "rating": 3, "review": "r" * 1001}, "review"),
        ],
    )
    def test_refusals(self, media_root, fields, bad):
        host, channel = channel_of("movie")
        with pytest.raises(ValidationFailed) as caught:
            post_create_movie(author=host, channel=channel, **fields)
        assert bad in caught.value.fields
        assert not Movie.objects.exists()


class TestPolls:
    def make_poll(self, **kwargs):
        host, channel = channel_of("vote")
        values: dict = {"question": "Cats or dogs?", "options": ["Cats", "Dogs", "Both"]}
        values.update(kwargs)
        return host, post_create_poll(author=host, channel=channel, **values)

    def options(self, post):
        return [o.public_id for o in post.poll.options.order_by("position")]

    def test_one_ballot_per_person_and_results(self):
        _host, post = self.make_poll()
        voter = make_user()
        cats, dogs, _both = self.options(post)
        poll = poll_vote(user=voter, post=post, option_ids=[cats])
        assert poll.ballot_count == 1
        with pytest.raises(ServiceError) as caught:
            poll_vote(user=voter, post=post, option_ids=[dogs])
        assert (caught.value.code, caught.value.status) == ("already_voted", 409)
        assert Ballot.objects.count() == 1
        shown = selectors.post_get(viewer=voter, public_id=post.public_id)
        assert shown.poll_view.show_results
        assert shown.poll_view.my_option_ids == [cats]
        stranger_view = selectors.post_get(viewer=make_user(), public_id=post.public_id)
        assert not stranger_view.poll_view.show_results

    def test_multiple_choice(self):
        _host, post = self.make_poll(multiple=True)
        cats, dogs, _both = self.options(post)
        poll_vote(user=make_user(), post=post, option_ids=[cats, dogs])
        assert [o.votes for o in post.poll.options.order_by("position")] == [1, 1, 0]

    def test_refused_votes(self):
        _host, post = self.make_poll()
        _other_host, other = self.make_poll()
        cats, dogs, _both = self.options(post)
        voter = make_user()
        for option_ids, code in [
            ([], "invalid_option"),
            ([self.options(other)[0]], "invalid_option"),
            ([cats, dogs], "one_option"),
        ]:
            with pytest.raises(ServiceError) as caught:
                poll_vote(user=voter, post=post, option_ids=option_ids)
            assert caught.value.code == code
        assert not Ballot.objects.exists()

    def test_no_votes_after_closing(self):
        _host, post = self.make_poll(closes_at=timezone.now() + timedelta(hours=1))
        post.poll.closes_at = timezone.now() - timedelta(seconds=1)
        post.poll.save()
        with pytest.raises(ServiceError) as caught:
            poll_vote(user=make_user(), post=post, option_ids=[self.options(post)[0]])
        assert caught.value.code == "poll_closed"
        assert selectors.post_get(viewer=make_user(), public_id=post.public_id).poll_view.show_results

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"options": ["only one"]}, "options"),
            ({"options": [str(i) for i in range(11)]}, "options"),
            ({"options": ["Same", "same"]}, "options"),
            ({"question": ""}, "question"),
            ({"closes_at": "a minute ago"}, "closes_at"),
        ],
    )
    def test_bad_polls(self, kwargs, field):
        if kwargs.get("closes_at") == "a minute ago":
            kwargs = {"closes_at": timezone.now() - timedelta(minutes=1)}
        with pytest.raises(ValidationFailed) as caught:
            self.make_poll(**kwargs)
        assert field in caught.value.fields
        assert not Post.objects.exists()

    def test_voting_through_the_page(self, client):
        _host, post = self.make_poll()
        client.force_login(make_user())
        response = client.post(
            reverse("posts:vote", args=[post.public_id]),
            {"option": self.options(post)[1]},
            headers={"HX-Request": "true"},
        )
        assert response.status_code == 200
        assert "100%" in response.text
        again = client.post(
            reverse("posts:vote", args=[post.public_id]),
            {"option": self.options(post)[0]},
            headers={"HX-Request": "true"},
        )
        assert again.status_code == 409
        assert "You already voted on this." in again.text


class TestComposerPages:
    def test_each_kind_shows_its_composer_and_takes_a_post(self, client, media_root):
        cases = {
            "text": ({"text": "hello"}, "hello"),
            "image": ({"images": [png()], "text": "look"}, "look"),
            "music": ({"title": "Loop song", "artist": "Me", "text": ""}, "Loop song"),
            "movie": ({"title": "Perfect Days", "year": "2023", "rating": "5", "review": "quiet"}, "Perfect Days"),
            "vote": ({"question": "Tea or coffee?", "options": "Tea\nCoffee"}, "Tea or coffee?"),
        }
        for kind, (data, shown) in cases.items():
            host, channel = channel_of(kind)
            client.force_login(host)
            page = client.get(reverse("interests:channel", args=[channel.public_id]))
            assert 'class="composer' in page.text, kind
            response = client.post(reverse("posts:create", args=[channel.public_id]), data)
            assert response.status_code == 302, (kind, response.context and response.context["form"].errors)
            assert shown in client.get(response["Location"]).text

    def test_composer_errors_sit_next_to_their_fields(self, client):
        host, channel = channel_of("movie")
        client.force_login(host)
        response = client.post(reverse("posts:create", args=[channel.public_id]), {"title": "", "rating": ""})
        assert response.status_code == 400
        assert {"title", "rating"} <= set(response.context["form"].errors)

    def test_punch_channels_have_no_composer(self, client):
        host, channel = channel_of("punch")
        client.force_login(host)
        assert 'class="composer' not in client.get(reverse("interests:channel", args=[channel.public_id])).text
        assert client.post(reverse("posts:create", args=[channel.public_id]), {"text": "x"}).status_code == 400

    def test_channel_page_with_every_kind_keeps_its_query_count(
        self, client, media_root, django_assert_max_num_queries, settings
    ):
        settings.ADS_EVERY_N_VIEWS = 0  # a view that draws an ad reads the campaigns too (pinned in test_ads)
        host, channel = channel_of("movie")
        for i in range(25):
            post_create_movie(author=host, channel=channel, title=f"Film {i % 5}", year=2000, rating=1 + i % 5)
        client.force_login(host)
        # session, user, channel, the posts with the pinned post, their films, the films' tallies and *same* by me
        # (one query; no photos for films)
        with django_assert_max_num_queries(4):
            response = client.get(reverse("interests:channel", args=[channel.public_id]))
        assert response.text.count('class="post card"') == 20
        assert "others in this channel posted this film" in response.text


def test_a_photo_channels_page_reads_its_photos_with_its_posts(client, media_root, django_assert_num_queries, settings):
    """A photo channel's page brings each post's photos in the posts query (a JSON column), not a query of their own:
    session, user, channel, the posts with their photos, in position order."""
    settings.ADS_EVERY_N_VIEWS = 0  # a view that draws an ad reads the campaigns too (pinned in test_ads)
    host, channel = channel_of("image")
    for _ in range(21):
        post_create_photos(author=host, channel=channel, images=[png((20 + n, 30), name=f"{n}.png") for n in range(3)])
    client.force_login(host)
    with django_assert_num_queries(4):
        response = client.get(reverse("interests:channel", args=[channel.public_id]))
    assert response.text.count('class="post card"') == 20
    shown = re.findall(r'<img src="[^"]+" width="(\d+)" height="30"', response.text)
    assert shown == ["20", "21", "22"] * 20


@pytest.mark.parametrize("kind", ["image", "movie"])
def test_a_channel_pages_posts_and_their_rows_hold_no_cycle(kind, media_root):
    """The channel page's posts, photos and films are freed when the page is done, not at the next collection: a post
    and its rows do not point at each other (posts.selectors._post_with_author)."""
    host, channel = channel_of(kind)
    for i in range(3):
        if kind == "image":
            post_create_photos(author=host, channel=channel, images=[png(), png()])
        else:
            post_create_movie(author=host, channel=channel, title=f"Film {i % 2}", year=2001, rating=3)
    gc.collect()
    gc.disable()
    try:
        feed = selectors.channel_posts(viewer=host, channel=channel)
        rows: list[object] = (
            [image for post in feed.page.items for image in post.images.all()] if kind == "image" else []
        )
        rows += [post.movie for post in feed.page.items] if kind == "movie" else []
        watched = [weakref.ref(thing) for thing in [*feed.page.items, *rows]]
        assert len(watched) == (9 if kind == "image" else 6)
        del feed, rows
        assert [ref() for ref in watched] == [None] * len(watched)
    finally:
        gc.enable()


def _tallies_equal_a_recount() -> None:
    counted = {
        (r["post__channel_id"], r["title_key"], r["year"] or 0): (r["n"], r["stars"])
        for r in Movie.objects.filter(post__removed_at__isnull=True)
        .values("post__channel_id", "title_key", "year")
        .annotate(n=Count("pk"), stars=Sum("rating"))
        .order_by()
    }
    kept = {(t.channel_id, t.title_key, t.year): (t.posts, t.stars) for t in FilmTally.objects.exclude(posts=0)}
    assert kept == counted


def test_a_films_standing_follows_its_posts_as_they_come_and_go(client, media_root):
    host, channel = channel_of("movie")
    friend = make_user()
    channel_join(user=friend, channel=channel)
    for rating in (2, 4, 5):
        post_create_movie(author=host, channel=channel, title="Paterson", year=2016, rating=rating)
    page = reverse("interests:channel", args=[channel.public_id])
    client.force_login(host)
    assert "2 others in this channel posted this film" in client.get(page).text
    friends = post_create_movie(author=friend, channel=channel, title="paterson ", year=2016, rating=3)
    assert client.get(page).text.count("3 others in this channel posted this film") == 4
    # Another year is another film: its standing is its own.
    post_create_movie(author=host, channel=channel, title="Paterson", year=1999, rating=1)
    assert client.get(page).text.count("3 others in this channel posted this film") == 4
    _tallies_equal_a_recount()
    # The host removes a post: it leaves the tally, and its stars leave the average.
    removed = Post.objects.filter(movie__rating=5).get()
    with transaction.atomic():
        take_down(post=Post.objects.select_for_update().get(pk=removed.pk), by=host, reason="spoiler")
    shown = selectors.post_get(viewer=host, public_id=friends.public_id)
    assert (shown.film_others, shown.film_average) == (2, 3.0)  # the 2 and the 4
    _tallies_equal_a_recount()
    # Its author deletes one; an account deletion takes the friend's along.
    post_delete(post=Post.objects.get(movie__rating=2), by=host)
    user_delete(user=friend, password=PASSWORD)
    _tallies_equal_a_recount()
    text = client.get(page).text
    assert "others in this channel posted this film" not in text
    assert FilmTally.objects.get(title_key="paterson", year=2016).posts == 1


def test_a_page_reads_the_films_standing_without_counting_posts(client, media_root, django_assert_num_queries):
    host, channel = channel_of("movie")
    for rating in (2, 4, 5):
        post_create_movie(author=host, channel=channel, title="Paterson", year=2016, rating=rating)
    page = reverse("interests:channel", args=[channel.public_id])
    client.force_login(host)
    with CaptureQueriesContext(connection) as queries:
        assert "2 others in this channel posted this film" in client.get(page).text
    assert not [q for q in queries.captured_queries if "posts_movie" in q["sql"] and "COUNT(" in q["sql"].upper()]
    assert [q for q in queries.captured_queries if "posts_filmtally" in q["sql"]]


@pytest.mark.django_db(transaction=True)
def test_concurrent_posts_of_a_new_film_all_count():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the PostgreSQL run exercises real concurrency")
    _host, channel = channel_of("movie")
    people = [make_user() for _ in range(12)]
    for person in people:
        channel_join(user=person, channel=channel)
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def post(person):
        try:
            barrier.wait()
            post_create_movie(author=person, channel=channel, title="Past Lives", year=2023, rating=4)
        except BaseException as error:  # noqa: BLE001  (collected and re-raised in the main thread)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    tally = FilmTally.objects.get(channel=channel, title_key="past lives", year=2023)
    assert (tally.posts, tally.stars) == (12, 48)


def test_an_image_bomb_is_refused_before_decoding(media_root, settings):
    """Ensure that a tiny file claiming 20,000×20,000 pixels is refused, and nothing is stored."""
    import io

    picture = Image.new("1", (20_000, 20_000))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", optimize=True)
    bomb = SimpleUploadedFile("bomb.png", buffer.getvalue(), content_type="image/png")
    assert len(buffer.getvalue()) < 200_000
    host, channel = channel_of("image")
    with pytest.raises(ServiceError) as caught:
        post_create_photos(author=host, channel=channel, images=[bomb])
    assert caught.value.code == "too_many_pixels"
    assert stored_files(settings) == []
    assert not Post.objects.exists()


def _shown(post: Post) -> tuple[object, ...]:
    """What the cards read of a post beyond its row."""
    side = {name: getattr(post, name, None) for name in ("song", "movie", "punch", "poll")}
    return (
        post.pk,
        post.author.username,
        {name: row.pk for name, row in side.items() if row is not None},
        getattr(post, "same_by_me", None),
        getattr(post, "film_others", None),
        getattr(post, "film_average", None),
        [
            {f.attname: getattr(image, f.attname) for f in PostImage._meta.concrete_fields}
            for image in post.images.all()
        ],
    )


@pytest.mark.parametrize("kind", ["movie", "music", "punch", "vote", "text", "image"])
def test_the_channel_query_brings_what_decorating_reads(kind, media_root, django_assert_max_num_queries):
    """The channel page's one query joins the kind's own rows, a film's tally and *same* by me: the posts come out as
    decorate_posts makes them from the ORM's rows (the pinned post, a second page, a film with and without others, photos,
    a post the viewer pressed and one they did not)."""
    from moderation.services import post_pin
    from posts.services import same_add
    from punches.services import punch_in

    host, channel = channel_of(kind)
    viewer = make_user()
    channel_join(user=viewer, channel=channel)
    for i in range(25):
        author = host if i % 2 else viewer
        if kind == "movie":
            title = "Seen once" if i == 24 else f"Film {i % 4}"
            post_create_movie(author=author, channel=channel, title=title, year=2000 + i % 2, rating=1 + i % 5)
        elif kind == "music":
            post_create_song(author=author, channel=channel, title=f"Song {i}", artist="Band", audio=song())
        elif kind == "punch":
            puncher = make_user()
            channel_join(user=puncher, channel=channel)
            punch_in(user=puncher, channel=channel, note=f"up {i}", photo=png(name=f"{i}.png") if i % 3 else None)
        elif kind == "image":
            photos = [png((20 + n, 30), name=f"{i}-{n}.png") for n in range(1 + i % 3)]
            post_create_photos(author=author, channel=channel, images=photos, text=f"photos {i}" if i % 2 else "")
        elif kind == "vote":
            post_create_poll(author=author, channel=channel, question=f"Q {i}?", options=["a", "b"])
        else:
            post_create_text(author=author, channel=channel, text=f"text {i}")
    posts = list(Post.objects.filter(channel=channel).order_by("created_at"))
    post_pin(post=posts[3], by=host)
    for post in posts[::3]:
        if post.author_id != viewer.pk:
            same_add(user=viewer, post=post)
    first = selectors.channel_posts(viewer=viewer, channel=channel)
    second = selectors.channel_posts(viewer=viewer, channel=channel, cursor=first.page.next)
    assert first.pinned is not None
    assert first.pinned.pk == posts[3].pk
    got = [first.pinned, *first.page.items, *second.page.items]
    assert len(got) == 25
    by_orm = {p.pk: p for p in selectors.visible_posts(viewer).filter(channel=channel)}
    expected = selectors.decorate_posts([by_orm[p.pk] for p in got], viewer)
    assert [_shown(p) for p in got] == [_shown(p) for p in expected]
    assert any(p.same_by_me for p in got)
    assert not all(p.same_by_me for p in got)
    if kind == "movie":
        assert 0 in {p.film_others for p in got}
        assert len({p.film_others for p in got}) > 1


def test_the_kept_composer_carries_each_pages_token_and_a_refused_post_comes_back_open(media_root):
    """The empty composer's box is kept between pages (posts/templatetags/composer.py): each page's form posts with
    that page's own CSRF token; a refused post shows the box open with its error and what was typed."""
    import re

    from django.test import Client

    host, channel = channel_of("text")
    page = reverse("interests:channel", args=[channel.public_id])
    create = reverse("posts:create", args=[channel.public_id])
    seen = set()
    for _ in range(2):
        checked = Client(enforce_csrf_checks=True)
        checked.force_login(host)
        text = checked.get(page).text
        box = re.search(r'<details class="composer-box card">.*?</details>', text, re.DOTALL)
        assert box
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', box.group(0))
        assert token
        header = re.search(r'"X-CSRFToken": "([^"]+)"', text)
        assert header
        assert token.group(1) == header.group(1)
        assert composer_tags._CSRF not in text
        seen.add(token.group(1))
        assert checked.post(create, {"text": "kept box"}).status_code == 403  # no token: refused
        sent = checked.post(create, {"text": "kept box", "csrfmiddlewaretoken": token.group(1)})
        assert sent.status_code == 302
    assert len(seen) == 2
    client = Client()
    client.force_login(host)
    refused = client.post(create, {"text": "x" * 5001})
    assert refused.status_code == 400
    assert '<details class="composer-box card" open>' in refused.text
    assert 'class="errorlist' in refused.text
