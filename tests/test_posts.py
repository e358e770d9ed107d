import threading
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.urls import reverse

from core.errors import PermissionDenied, ServiceError
from interests.services import channel_join
from posts import selectors, services
from posts.models import Post, Same
from posts.text import render_post_text
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def host():
    return make_user(username="host")


@pytest.fixture
def channel(host):
    return make_channel(name="Insomnia", host=host)


@pytest.fixture
def member(channel):
    person = make_user(username="willow")
    channel_join(user=person, channel=channel)
    return person


class TestTextPosts:
    def test_a_member_posts_and_the_channel_counts_it(self, channel, member):
        post = services.post_create_text(author=member, channel=channel, text="  Awake again.\r\nTea helps.  ")
        assert post.text == "Awake again.\nTea helps."
        channel.refresh_from_db()
        assert channel.post_count == 1
        assert channel.last_post_at == post.created_at

    @pytest.mark.parametrize(("text", "code"), [("", "required"), ("   \n ", "required"), ("x" * 2001, "too_long")])
    def test_bad_text(self, channel, member, text, code):
        with pytest.raises(ServiceError) as caught:
            services.post_create_text(author=member, channel=channel, text=text)
        assert caught.value.code == code
        assert caught.value.field == "text"
        assert not Post.objects.exists()

    def test_2000_characters_is_fine(self, channel, member):
        assert len(services.post_create_text(author=member, channel=channel, text="x" * 2000).text) == 2000

    def test_only_members_post(self, channel):
        with pytest.raises(PermissionDenied) as caught:
            services.post_create_text(author=make_user(), channel=channel, text="hi")
        assert caught.value.code == "not_member"

    def test_a_channel_refuses_posts_of_another_kind(self):
        photos_host = make_user()
        photos = make_channel(name="Shoes", kind="image", host=photos_host)
        with pytest.raises(ServiceError) as caught:
            services.post_create_text(author=photos_host, channel=photos, text="no photo")
        assert caught.value.code == "wrong_kind"
        assert not Post.objects.exists()

    def test_authors_delete_their_own_posts_only(self, channel, member):
        post = services.post_create_text(author=member, channel=channel, text="hi")
        with pytest.raises(PermissionDenied):
            services.post_delete(post=post, by=channel.host)
        services.post_delete(post=post, by=member)
        channel.refresh_from_db()
        assert channel.post_count == 0
        assert not Post.objects.exists()


class TestPostText:
    def test_links_become_clickable_and_html_stays_text(self):
        html = render_post_text("see https://example.org/a?b=1&c=2. <script>alert(1)</script> <b>bold</b>\nline")
        assert '<a href="https://example.org/a?b=1&amp;c=2"' in html
        assert 'rel="nofollow noopener ugc"' in html
        assert "<script>" not in html
        assert "&lt;script&gt;" in html
        assert "<b>" not in html
        assert "<br>" in html

    @pytest.mark.parametrize(
        "evil",
        [
            "javascript:alert(1)",
            "[x](javascript:alert(1))",
            "<a href=javascript:alert(1)>x</a>",
            '" onmouseover="alert(1)',
        ],
    )
    def test_no_injection(self, evil):
        """Ensure that whatever is typed, the only markup is a line break or an http(s) link."""
        tags: list[tuple[str, dict[str, str | None]]] = []

        class Collector(HTMLParser):
            def handle_starttag(self, tag, attrs):
                tags.append((tag, dict(attrs)))

        Collector().feed(str(render_post_text(evil)))
        for tag, attrs in tags:
            assert tag in {"a", "br"}
            assert set(attrs) <= {"href", "rel", "target"}
            assert (attrs.get("href") or "https://").startswith(("http://", "https://"))


class TestSame:
    def test_press_twice_counts_once_and_undo(self, channel, member):
        post = services.post_create_text(author=member, channel=channel, text="hi")
        other = make_user()
        assert services.same_add(user=other, post=post) == 1
        assert services.same_add(user=other, post=post) == 1
        assert services.same_add(user=channel.host, post=post) == 2
        assert services.same_remove(user=other, post=post) == 1
        assert services.same_remove(user=other, post=post) == 1
        assert Same.objects.count() == 1

    def test_not_on_ones_own_post(self, channel, member):
        post = services.post_create_text(author=member, channel=channel, text="hi")
        with pytest.raises(ServiceError) as caught:
            services.same_add(user=member, post=post)
        assert caught.value.code == "own_post"

    def test_only_the_author_sees_who_felt_the_same(self, channel, member):
        post = services.post_create_text(author=member, channel=channel, text="hi")
        services.same_add(user=make_user(username="fern"), post=post)
        assert selectors.same_people(post=post, viewer=member) == ["fern"]
        assert selectors.same_people(post=post, viewer=channel.host) == []

    def test_the_button_toggles_in_place_with_htmx(self, client, channel, member):
        post = services.post_create_text(author=member, channel=channel, text="hi")
        client.force_login(make_user())
        url = reverse("posts:same", args=[post.public_id])
        response = client.post(url, {"pressed": "0"}, headers={"HX-Request": "true"})
        assert 'aria-pressed="true"' in response.text
        assert '<span class="same-count">1</span>' in response.text
        response = client.post(url, {"pressed": "1"}, headers={"HX-Request": "true"})
        assert 'aria-pressed="false"' in response.text
        post.refresh_from_db()
        assert post.same_count == 0


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_same_presses_count_exactly(settings):
    """Ensure that the counter and the rows agree when many people press at once (PostgreSQL runs them truly in parallel)."""
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the PostgreSQL run exercises real concurrency")
    busy_host = make_user()
    channel = make_channel(name="Busy", host=busy_host)
    post = services.post_create_text(author=busy_host, channel=channel, text="Who else?")
    people = [make_user() for _ in range(50)]
    barrier = threading.Barrier(len(people))
    errors: list[BaseException] = []

    def press(person):
        try:
            barrier.wait()
            services.same_add(user=person, post=post)
            services.same_add(user=person, post=post)  # a double tap
        except BaseException as error:  # noqa: BLE001  (collected and re-raised in the main thread)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=press, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    post.refresh_from_db()
    assert post.same_count == Same.objects.filter(post=post).count() == 50


class TestFeeds:
    def test_home_shows_joined_channels_only_newest_first(self, host, channel, member):
        stranger = make_user()
        elsewhere = make_channel(name="Elsewhere", host=stranger)
        services.post_create_text(author=member, channel=channel, text="first")
        services.post_create_text(author=stranger, channel=elsewhere, text="not for you")
        services.post_create_text(author=host, channel=channel, text="second")
        assert [p.text for p in selectors.home_feed(user=member).items] == ["second", "first"]

    def test_home_pages_and_query_count(self, client, host, channel, member, django_assert_max_num_queries, settings):
        settings.ADS_EVERY_N_VIEWS = 0  # an ad drawn in the page is three queries more (test_ads pins them)
        for i in range(45):
            services.post_create_text(author=host, channel=channel, text=f"post {i}")
        client.force_login(member)
        with django_assert_max_num_queries(8):
            first = client.get("/")
        assert first.text.count('class="post card"') == 20
        cursor = first.text.split("cursor=")[1].split('"')[0]
        with django_assert_max_num_queries(8):
            second = client.get(f"/?cursor={cursor}", headers={"HX-Request": "true"})
        assert second.text.count('class="post card"') == 20
        assert "post 24" in second.text
        assert "<html" not in second.text

    def test_channel_page_query_count(self, client, channel, member, django_assert_max_num_queries, settings):
        settings.ADS_EVERY_N_VIEWS = 0  # an ad drawn in the page is three queries more (test_ads pins them)
        for i in range(30):
            services.post_create_text(author=member, channel=channel, text=f"post {i}")
        client.force_login(member)
        with django_assert_max_num_queries(8):
            response = client.get(reverse("interests:channel", args=[channel.public_id]))
        assert response.text.count('class="post card"') == 20

    def test_compose_on_the_channel_page(self, client, channel, member):
        client.force_login(member)
        response = client.post(reverse("posts:create", args=[channel.public_id]), {"text": "hello https://example.org"})
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert '<a href="https://example.org"' in page.text
        empty = client.post(reverse("posts:create", args=[channel.public_id]), {"text": "   "})
        assert empty.status_code == 400

    def test_a_removed_or_unknown_post_is_404(self, client, member):
        client.force_login(member)
        assert client.get(reverse("posts:detail", args=["nope"])).status_code == 404
