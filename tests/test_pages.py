"""`core.pages.render_page`: a page rendered as django.shortcuts.render renders it, what it showed freed with it."""

import gc
import weakref
from collections.abc import Callable

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.shortcuts import render
from django.test import RequestFactory

from core.pages import render_page
from interests import views as interest_views
from interests.models import Channel
from interests.services import channel_join
from posts import views as post_views
from posts.models import Post
from posts.movies import post_create_movie
from posts.photos import post_create_photos
from posts.polls import poll_vote, post_create_poll
from recommendations import views as recommendation_views
from tests.factories import make_channel, make_user
from tests.samples import png

pytestmark = pytest.mark.django_db


class Shown:
    """Something a page shows (a weak reference can watch it go)."""

    def __str__(self) -> str:
        return "shown <here>"


def _freed_without_the_collector(how) -> bool:
    request = RequestFactory().get("/")
    request.user = make_user()
    shown = Shown()
    watch = weakref.ref(shown)
    gc.disable()
    try:
        response = how(request, "pages/shown.html", {"shown": shown}, status=201)
        assert (response.status_code, response.content.decode()) == (201, "shown &lt;here&gt;\n")
        del response, shown
        return watch() is None
    finally:
        gc.enable()


@pytest.fixture
def page_template(settings, tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "shown.html").write_text("{{ shown }}\n")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path]}]


def test_what_a_page_showed_goes_with_it(page_template):
    """django.shortcuts.render leaves the context to the garbage collector (its dicts and the Context hold each other);
    render_page answers the same and frees it by reference counting."""
    assert not _freed_without_the_collector(render)
    assert _freed_without_the_collector(render_page)


def test_the_test_clients_context_is_still_there(client):
    host = make_user()
    channel = make_channel(host=host)
    client.force_login(host)
    response = client.get(f"/c/{channel.public_id}")
    assert response.status_code == 200
    assert response.context["channel"] == channel


def _watched(things: list[object]) -> list[weakref.ref[object]]:
    return [weakref.ref(thing) for thing in things]


def _rows_of(post: Post) -> list[object]:
    """A card's post and the rows it shows: photos, film, poll and options."""
    rows: list[object] = [post, *post.images.all()]
    if post.kind == "movie":
        rows.append(post.movie)
    if post.kind == "vote":
        rows += [post.poll, *post.poll.options.all()]
    return rows


@pytest.fixture
def a_mixed_home(media_root):
    """ana joined channels of photos, films and polls, each with posts: her Home shows every kind's rows. A fourth
    channel of photos she did not join."""
    host, ana = make_user(username="host"), make_user(username="ana")
    photos = make_channel(host=host, kind="image", cover=png())
    films = make_channel(host=host, kind="movie")
    polls = make_channel(host=host, kind="vote")
    for channel in (photos, films, polls):
        channel_join(user=ana, channel=channel)
    for n in range(2):
        post_create_photos(author=host, channel=photos, images=[png(), png()])
        post_create_movie(author=host, channel=films, title="Paris, Texas", year=1984, rating=4 + n % 2)
        poll = post_create_poll(author=host, channel=polls, question=f"Tea {n}?", options=["mint", "black"])
    poll_vote(user=ana, post=poll, option_ids=[poll.poll.options.all()[0].public_id])
    elsewhere = make_channel(host=host, kind="image")  # not hers: Discover shows its posts
    for _ in range(2):
        post_create_photos(author=host, channel=elsewhere, images=[png()])
    return ana


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _freed_after_the_page(client, monkeypatch, url: str, module: object, name: str, rows_of) -> tuple[int, int]:
    """GET `url` with the collector off, watching what `module.name` (the page's selector) gave the page; after the
    answer is dropped: (how many were watched, how many are still there)."""
    watched: list[weakref.ref[object]] = []
    selector = getattr(module, name)

    def watching(*args, **kwargs):
        page = selector(*args, **kwargs)
        watched.extend(_watched([row for item in page.items for row in rows_of(item)]))
        return page

    monkeypatch.setattr(module, name, watching)
    # Through the WSGI handler as a server calls it: the test client's response holds itself (`response.json`) and
    # keeps copies of the template contexts.
    environ = client._base_environ(PATH_INFO=url, REQUEST_METHOD="GET")
    statuses: list[str] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> Callable[[bytes], None]:
        statuses.append(status)
        return lambda data: None

    # As the test client does, the request's start and end leave the test's connection (and its transaction) open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    gc.collect()
    gc.disable()
    try:
        answer = WSGIHandler()(environ, start_response)
        body = b"".join(answer)
        answer.close()
        del answer
        assert statuses == ["200 OK"]
        assert body
        return len(watched), sum(1 for ref in watched if ref() is not None)
    finally:
        gc.enable()
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_home_frees_its_posts_and_their_rows_without_the_collector(client, monkeypatch, a_mixed_home):
    """Home's posts, their photos, films, polls and options go with the page: no reference cycle among them (a row
    given its post back) or through the template context (`render_page`)."""
    client.force_login(a_mixed_home)
    watched, left = _freed_after_the_page(client, monkeypatch, "/", post_views, "home_feed", _rows_of)
    assert watched == 6 + 4 + 2 + 2 + 4  # six posts, four photos, two films, two polls and their four options
    assert left == 0


def test_explore_frees_what_it_showed_without_the_collector(client, monkeypatch, a_mixed_home):
    client.force_login(a_mixed_home)
    watched, left = _freed_after_the_page(
        client, monkeypatch, "/explore", interest_views.selectors, "channel_list", lambda channel: [channel]
    )
    assert (watched, left) == (4, 0)  # the photo channel's cover shown by its stored name (`Channel.cover_url`)


def test_discover_frees_what_it_showed_without_the_collector(client, monkeypatch, a_mixed_home):
    client.force_login(a_mixed_home)
    watched, left = _freed_after_the_page(
        client, monkeypatch, "/discover", recommendation_views.selectors, "post_picks", lambda pick: _rows_of(pick.post)
    )
    assert (watched, left) == (2 + 2, 0)  # the other channel's two posts and their photos


def test_a_channels_cover_url_is_its_fields(a_mixed_home):
    with_cover, without = Channel.objects.exclude(cover=""), Channel.objects.filter(cover="")
    assert [(c.cover_url, c.cover_url == c.cover.url) for c in with_cover] == [(with_cover[0].cover.url, True)]
    assert with_cover[0].cover_url.startswith("/media/covers/")
    assert {c.cover_url for c in without} == {""}
