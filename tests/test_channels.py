import re

import pytest
from django.db.models import Q
from django.test import Client
from django.urls import reverse

from accounts.models import User
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from interests import selectors, services
from interests.models import Channel, Membership
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db


def _orm_channel_list(viewer, *, q, category, sort, with_host):
    """Every channel `selectors.channel_list` should give, read through the ORM (the reference)."""
    channels = selectors._visible(viewer, related=with_host)
    if category:
        channels = channels.filter(category=category)
    for term in q.split():
        channels = channels.filter(Q(name__icontains=term) | Q(description__icontains=term))
    return list(channels.order_by(*[f"-{name}" for name in selectors.SORTS[sort]]))


class TestChannelCreate:
    def test_the_creator_hosts_and_is_the_first_member(self):
        host = make_user()
        channel = services.channel_create(
            host=host,
            name="  Insomnia ",
            description="Awake at 3",
            rule="Night thoughts",
            kind="text",
            category="moods",
        )
        assert channel.name == "Insomnia"
        assert channel.host == host
        assert channel.member_count == 1
        assert Membership.objects.filter(channel=channel, user=host).exists()
        assert len(channel.public_id) >= 16

    @pytest.mark.parametrize("variant", ["insomnia", "INSOMNIA", "ＩＮＳＯＭＮＩＡ", "Insomnia  "])
    def test_names_are_unique_ignoring_case_and_width(self, variant):
        make_channel(name="Insomnia")
        with pytest.raises(ValidationFailed) as caught:
            make_channel(name=variant)
        assert caught.value.fields["name"] == ["A channel with this name exists already."]
        assert Channel.objects.count() == 1

    def test_every_bad_field_at_once_and_nothing_written(self):
        with pytest.raises(ValidationFailed) as caught:
            services.channel_create(
                host=make_user(), name="x", description="d" * 501, rule="r" * 301, kind="poem", category="nowhere"
            )
        assert set(caught.value.fields) == {"name", "description", "rule", "kind", "category"}
        assert Channel.objects.count() == 0

    def test_chinese_names(self):
        assert make_channel(name="失眠").name == "失眠"


class TestMembership:
    def test_join_and_leave_keep_the_count(self):
        channel = make_channel()
        person = make_user()
        services.channel_join(user=person, channel=channel)
        services.channel_join(user=person, channel=channel)  # twice is once
        channel.refresh_from_db()
        assert channel.member_count == 2
        services.channel_leave(user=person, channel=channel)
        channel.refresh_from_db()
        assert channel.member_count == 1

    def test_the_host_hands_over_before_leaving(self):
        host = make_user()
        channel = make_channel(host=host)
        member = make_user(username="willow")
        services.channel_join(user=member, channel=channel)
        with pytest.raises(PermissionDenied) as caught:
            services.channel_leave(user=host, channel=channel)
        assert caught.value.code == "host_cannot_leave"
        services.channel_transfer(channel=channel, by=host, to_username="WILLOW")
        channel.refresh_from_db()
        assert channel.host == member
        services.channel_leave(user=host, channel=channel)

    def test_only_the_host_edits_and_transfers(self):
        channel = make_channel()
        stranger = make_user()
        with pytest.raises(PermissionDenied):
            services.channel_update(channel=channel, by=stranger, description="mine now", rule="")
        with pytest.raises(PermissionDenied):
            services.channel_transfer(channel=channel, by=stranger, to_username=stranger.username)
        channel.refresh_from_db()
        assert channel.description == ""

    def test_transfer_only_to_a_member(self):
        host = make_user()
        channel = make_channel(host=host)
        make_user(username="outsider")
        with pytest.raises(ServiceError) as caught:
            services.channel_transfer(channel=channel, by=host, to_username="outsider")
        assert caught.value.status == 404

    def test_deleting_the_hosts_account_passes_the_channel_on(self, password):
        from accounts.services import user_delete

        host = make_user()
        channel = make_channel(host=host)
        heir = make_user()
        services.channel_join(user=heir, channel=channel)
        lonely = make_channel(host=host)
        user_delete(user=host, password=password)
        channel.refresh_from_db()
        assert channel.host == heir
        assert channel.member_count == 1
        assert not Channel.objects.filter(pk=lonely.pk).exists()


class TestExplore:
    def test_search_in_english_and_chinese(self):
        make_channel(name="Insomnia", description="awake at night")
        make_channel(name="失眠的人", description="睡不着的时候")
        make_channel(name="Shoes", description="show me your shoes")
        names = lambda q: {c.name for c in selectors.channel_list(viewer=None, q=q).items}  # noqa: E731
        assert names("insom") == {"Insomnia"}
        assert names("NIGHT") == {"Insomnia"}
        assert names("睡不着") == {"失眠的人"}
        assert names("失眠") == {"失眠的人"}
        assert names("show shoes") == {"Shoes"}
        assert names("nothing-like-this") == set()

    def test_sorts_and_pages_without_gaps_or_repeats(self):
        channels = [make_channel(name=f"Channel {i:02}") for i in range(7)]
        for sort in ["new", "active", "popular"]:
            seen, cursor = [], None
            while True:
                page = selectors.channel_list(viewer=None, sort=sort, cursor=cursor, size=3)
                seen += [c.public_id for c in page.items]
                cursor = page.next
                if cursor is None:
                    break
            assert sorted(seen) == sorted(c.public_id for c in channels)
            assert len(seen) == len(set(seen))
        newest = selectors.channel_list(viewer=None, sort="new", size=1).items[0]
        assert newest == channels[-1]

    def test_popular_puts_bigger_channels_first(self):
        small = make_channel(name="Small")
        big = make_channel(name="Big")
        for _ in range(3):
            services.channel_join(user=make_user(), channel=big)
        assert [c.name for c in selectors.channel_list(viewer=None, sort="popular").items] == [big.name, small.name]

    def test_by_category(self):
        make_channel(name="Cats", category="pets")
        make_channel(name="Tea", category="food")
        assert [c.name for c in selectors.channel_list(viewer=None, category="pets").items] == ["Cats"]

    @pytest.mark.parametrize(
        ("kwargs", "code"),
        [
            ({"sort": "weird"}, "invalid_sort"),
            ({"category": "x"}, "invalid_category"),
            ({"cursor": "%%%"}, "invalid_cursor"),
        ],
    )
    def test_bad_parameters(self, kwargs, code):
        with pytest.raises(ServiceError) as caught:
            selectors.channel_list(viewer=None, **kwargs)
        assert caught.value.code == code

    def test_the_written_query_reads_what_the_orm_reads(self):
        """channel_list and channel_get are hand-written SELECTs: the same channels, in the same order, with the
        same fields, host, punch clock and `joined` as the ORM's reading of `_visible` (LIKE's wildcards in a
        search are plain characters; closed channels never show)."""
        viewer, other = make_user(), make_user()
        made = [
            make_channel(name="100% cotton", description="shirts"),
            make_channel(name="a_b", description="under_score"),
            make_channel(name="aXb", description="no underscore", host=other),
            make_channel(name="Back\\slash", description="o'clock", category="pets"),
            make_channel(name="失眠的人", description="睡不着"),
            make_channel(name="Mornings", kind="punch", category="life"),
            *[make_channel(name=f"Channel {i:02}", description="plain") for i in range(5)],
        ]
        services.channel_join(user=viewer, channel=made[1])
        Channel.objects.filter(pk=made[-1].pk).update(is_closed=True)
        Channel.objects.filter(pk=made[2].pk).update(host=None)

        def fields(channel: Channel) -> tuple[object, ...]:
            cache = channel._state.fields_cache
            related = [cache.get(name) and {**vars(cache[name]), "_state": None} for name in ("host", "punch_clock")]
            return ({**vars(channel), "_state": None}, set(cache), related, channel._state.adding)

        for who in (viewer, None):
            for q, category, sort in [
                ("", "", "active"),
                ("%", "", "new"),
                ("_", "", "popular"),
                ("a_b", "", "active"),
                ("\\", "", "active"),
                ("o'c", "pets", "new"),
                ("睡不", "", "active"),
                ("channel PLAIN", "", "popular"),
                ("", "life", "active"),
            ]:
                for with_host in (True, False):
                    expected = _orm_channel_list(who, q=q, category=category, sort=sort, with_host=with_host)
                    cursor, seen = None, []
                    while True:
                        page = selectors.channel_list(
                            viewer=who, q=q, category=category, sort=sort, cursor=cursor, size=2, with_host=with_host
                        )
                        seen += page.items
                        cursor = page.next
                        if cursor is None:
                            break
                    assert [fields(c) for c in seen] == [fields(c) for c in expected], (q, category, sort)
            for channel in made[:-1]:
                found = selectors.channel_get(viewer=who, public_id=channel.public_id)
                assert fields(found) == fields(selectors._visible(who).get(pk=channel.pk))
            with pytest.raises(NotFound):
                selectors.channel_get(viewer=who, public_id=made[-1].public_id)
        assert selectors.channel_get(viewer=viewer, public_id=made[1].public_id).joined is True
        assert selectors.channel_get(viewer=viewer, public_id=made[0].public_id).joined is False
        assert [c.name for c in selectors.channel_list(viewer=None, q="%").items] == ["100% cotton"]
        assert [c.name for c in selectors.channel_list(viewer=None, q="a_b").items] == ["a_b"]

    def test_category_links_keep_the_search_and_sort_and_mark_the_current_one(self, client):
        client.force_login(make_user())
        text = client.get(reverse("interests:explore"), {"q": 'a&b "x"', "category": "pets", "sort": "new"}).text
        assert '<a class="chip" href="?q=a%26b%20%22x%22&amp;sort=new">All</a>' in text
        assert '<a class="chip active" href="?category=pets&amp;q=a%26b%20%22x%22&amp;sort=new">Pets</a>' in text
        assert '<a class="chip" href="?category=food&amp;q=a%26b%20%22x%22&amp;sort=new">Food</a>' in text
        assert '<a class="chip" href="?category=film&amp;q=a%26b%20%22x%22&amp;sort=new">Film &amp; TV</a>' in text
        assert text.count('<a class="chip') == 17
        plain = client.get(reverse("interests:explore")).text
        assert '<a class="chip active" href="?q=&amp;sort=active">All</a>' in plain
        assert plain.count('<a class="chip active"') == 1
        refused = client.get(reverse("interests:explore"), {"sort": "weird"})
        assert refused.status_code == 400
        assert '<a class="chip active" href="?q=&amp;sort=">All</a>' in refused.text  # as the template wrote it
        client.force_login(make_user(language="zh-hans"))
        chinese = client.get(reverse("interests:explore")).text
        assert '<a class="chip" href="?category=pets&amp;q=&amp;sort=active">宠物</a>' in chinese

    def test_the_explore_head_follows_the_sort_category_search_and_language_at_once(self, client):
        """Ensure that Explore's head, kept between pages (interests/templatetags/channel_cards.py), shows each
        page's own sort, category, search and language."""
        viewer = make_user()
        client.force_login(viewer)
        explore = reverse("interests:explore")

        def head(**params: str) -> str:
            text = client.get(explore, params).text
            start = text.index('<div class="page-head">')
            return text[start : text.index("</nav>", start)]

        first = head()
        assert '<option value="active" selected>' in first
        assert 'id="for-you"' in first
        assert '<a class="chip active" href="?q=&amp;sort=active">All</a>' in first
        newest = head(sort="new")
        assert '<option value="new" selected>' in newest
        assert '<option value="active" selected>' not in newest
        pets = head(sort="new", category="pets")
        assert '<input type="hidden" name="category" value="pets">' in pets
        assert '<a class="chip active" href="?category=pets&amp;q=&amp;sort=new">Pets</a>' in pets
        assert 'id="for-you"' not in pets
        searched = head(q="<owls>", category="pets", sort="new")
        assert 'value="&lt;owls&gt;"' in searched
        assert '<a class="chip active" href="?category=pets&amp;q=%3Cowls%3E&amp;sort=new">Pets</a>' in searched
        assert 'value="&lt;owls&gt;"' not in head(category="pets", sort="new")
        User.objects.filter(pk=viewer.pk).update(language="zh-hans")
        chinese = head()
        assert "<h1>发现</h1>" in chinese
        assert '<option value="active" selected>' in chinese
        User.objects.filter(pk=viewer.pk).update(language="en")
        assert "<h1>Explore</h1>" in head()

    def test_explore_page_query_count_is_fixed(self, client, django_assert_max_num_queries):
        viewer = make_user()
        for i in range(25):
            make_channel(name=f"Channel {i:02}")
        client.force_login(viewer)
        with django_assert_max_num_queries(8):
            response = client.get(reverse("interests:explore"))
        assert response.status_code == 200
        assert response.text.count('class="channel-card"') == 20


class TestChannelPages:
    def test_create_through_the_page(self, client):
        client.force_login(make_user())
        response = client.post(
            reverse("interests:channel_new"),
            {
                "name": "Early birds",
                "kind": "punch",
                "category": "rituals",
                "description": "Up early",
                "rule": "Punch in",
            },
        )
        channel = Channel.objects.get()
        assert response["Location"] == reverse("interests:channel", args=[channel.public_id])
        page = client.get(response["Location"])
        assert "Early birds" in page.text
        assert "Punch the clock" in page.text

    def test_errors_next_to_fields(self, client):
        make_channel(name="Insomnia")
        client.force_login(make_user())
        response = client.post(reverse("interests:channel_new"), {"name": "INSOMNIA", "kind": "text", "category": ""})
        assert response.status_code == 400
        errors = response.context["form"].errors
        assert errors["name"] == ["A channel with this name exists already."]
        assert "category" in errors

    def test_join_and_leave_buttons(self, client):
        channel = make_channel()
        client.force_login(make_user())
        assert "Join" in client.get(reverse("interests:channel", args=[channel.public_id])).text
        client.post(reverse("interests:join", args=[channel.public_id]))
        assert "Joined ✓" in client.get(reverse("interests:channel", args=[channel.public_id])).text
        client.post(reverse("interests:join", args=[channel.public_id]), {"action": "leave"})
        channel.refresh_from_db()
        assert channel.member_count == 1

    def test_the_head_shows_each_change_at_once_with_this_pages_csrf_token(self, client):
        """The channel's head is rendered once per state and reused (interests/templatetags/channel_cards.py):
        a join, a leave, a new description or count, the host's view and a language switch show on the next
        page, and its form carries the page's own CSRF token (checked: the POST goes through)."""
        csrf_client = Client(enforce_csrf_checks=True)
        host = make_user()
        channel = make_channel(host=host, description="awake\nat <night>", rule="Night thoughts")
        person = make_user()
        csrf_client.force_login(person)
        url = reverse("interests:channel", args=[channel.public_id])

        token = ""

        def head() -> str:
            nonlocal token
            text = csrf_client.get(url).text
            tokens = set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', text))
            assert len(tokens) == 1  # every form of the page carries the same token
            token = tokens.pop()
            return text[text.index('<section class="channel-head card">') : text.index("</section>")]

        first = head()
        assert "1 member<" in first
        assert '<button class="button block" type="submit">Join</button>' in first
        assert "<p>awake<br>at &lt;night&gt;</p>" in first
        assert 'id="channel-group"' not in first
        csrf_client.post(reverse("interests:join", args=[channel.public_id]), {"csrfmiddlewaretoken": token})
        joined = head()
        assert "2 members<" in joined
        assert "Joined ✓ · Leave" in joined
        assert 'id="channel-group"' in joined
        Channel.objects.filter(pk=channel.pk).update(description="morning now")
        assert "<p>morning now</p>" in head()
        User.objects.filter(pk=person.pk).update(language="zh-hans")
        assert "举报这个频道" in head()
        User.objects.filter(pk=person.pk).update(language="en")
        csrf_client.post(
            reverse("interests:join", args=[channel.public_id]),
            {"action": "leave", "csrfmiddlewaretoken": token},
        )
        left = head()
        assert "1 member<" in left
        assert '<button class="button block" type="submit">Join</button>' in left
        csrf_client.force_login(host)
        hosting = head()
        assert "Report this channel" not in hosting
        assert 'id="channel-group"' in hosting
        refused = csrf_client.post(
            reverse("interests:join", args=[channel.public_id]), {"csrfmiddlewaretoken": "x" * 64}
        )
        assert refused.status_code == 403

    def test_host_settings_are_for_the_host(self, client):
        host = make_user()
        channel = make_channel(host=host)
        client.force_login(make_user())
        assert client.get(reverse("interests:settings", args=[channel.public_id])).status_code == 403
        client.force_login(host)
        response = client.post(
            reverse("interests:settings", args=[channel.public_id]),
            {"form": "settings", "description": "New", "rule": "Be kind"},
        )
        assert response.status_code == 302
        channel.refresh_from_db()
        assert (channel.description, channel.rule) == ("New", "Be kind")

    def test_unknown_channel_is_404(self, client):
        client.force_login(make_user())
        assert client.get(reverse("interests:channel", args=["nope"])).status_code == 404


class TestCover:
    def test_the_cover_is_stored_without_its_metadata(self, settings, tmp_path):
        from pathlib import Path

        from PIL import Image

        from tests.samples import GPS_MARK, photo_with_gps

        settings.MEDIA_ROOT = tmp_path
        channel = services.channel_create(
            host=make_user(), name="Shoes", kind="image", category="life", cover=photo_with_gps()
        )
        data = Path(channel.cover.path).read_bytes()
        assert GPS_MARK not in data
        with Image.open(channel.cover.path) as opened:
            assert not opened.getexif()

    def test_a_bad_cover_refuses_the_channel_and_leaves_no_file(self, settings, tmp_path):
        from pathlib import Path

        from django.core.files.uploadedfile import SimpleUploadedFile

        settings.MEDIA_ROOT = tmp_path
        with pytest.raises(ServiceError) as caught:
            services.channel_create(
                host=make_user(),
                name="Shoes",
                kind="image",
                category="life",
                cover=SimpleUploadedFile("c.png", b"GIF89a nope"),
            )
        assert caught.value.field == "cover"
        assert not Channel.objects.exists()
        assert [p for p in Path(tmp_path).rglob("*") if p.is_file()] == []
