import itertools
import re
import threading
from datetime import UTC, date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from redis.exceptions import ConnectionError as RedisConnectionError

from core.errors import PermissionDenied, ServiceError
from interests.services import channel_join
from posts.models import Post
from posts.songs import post_create_song
from punches import selectors, services
from punches.charts import histogram_chart, history_chart
from punches.models import Punch
from tests.factories import make_channel, make_user
from tests.samples import png, song

pytestmark = pytest.mark.django_db


@pytest.fixture
def host():
    return make_user(username="host")


@pytest.fixture
def channel(host):
    return make_channel(name="Early birds", kind="punch", category="rituals", host=host)


def person(channel, tz="UTC", name=None):
    someone = make_user(timezone=tz, **({"username": name} if name else {}))
    channel_join(user=someone, channel=channel)
    return someone


def at(text: str) -> datetime:
    """An instant, written in UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class TestLocalDays:
    def test_once_per_local_day_with_a_kind_refusal(self, channel):
        early = person(channel, "Europe/Paris")
        services.punch_in(user=early, channel=channel, now=at("2026-03-02T05:42:00"))  # 06:42 in Paris
        with pytest.raises(ServiceError) as caught:
            services.punch_in(user=early, channel=channel, now=at("2026-03-02T09:00:00"))
        assert caught.value.code == "already_punched"
        assert caught.value.status == 409
        assert "06:42" in caught.value.message
        assert Punch.objects.count() == 1

    @pytest.mark.parametrize(
        ("tz", "first", "second", "same_day"),
        [
            (
                "Pacific/Kiritimati",
                "2026-03-01T09:59:59",
                "2026-03-01T10:00:00",
                False,
            ),  # UTC+14: 23:59:59 then 00:00:00
            ("Etc/GMT+12", "2026-03-01T11:59:59", "2026-03-01T12:00:00", False),  # UTC−12
            (
                "America/New_York",
                "2026-03-08T06:30:00",
                "2026-03-08T07:30:00",
                True,
            ),  # 01:30 EST, then 03:30 EDT: one day
            ("UTC", "2026-03-01T00:00:00", "2026-03-01T23:59:59", True),
        ],
    )
    def test_the_day_is_the_persons_calendar_day(self, channel, tz, first, second, same_day):
        someone = person(channel, tz)
        one = services.punch_in(user=someone, channel=channel, now=at(first)).punch
        if same_day:
            with pytest.raises(ServiceError):
                services.punch_in(user=someone, channel=channel, now=at(second))
        else:
            two = services.punch_in(user=someone, channel=channel, now=at(second)).punch
            assert two.local_date == one.local_date + timedelta(days=1)
            assert two.local_seconds == 0
            assert one.local_seconds == 23 * 3600 + 59 * 60 + 59
            assert two.streak == 2

    def test_a_dst_morning_keeps_local_wall_time(self, channel):
        someone = person(channel, "America/New_York")
        punch = services.punch_in(user=someone, channel=channel, now=at("2026-03-08T11:15:00")).punch  # 07:15 EDT
        assert punch.local_date == date(2026, 3, 8)
        assert punch.local_seconds == 7 * 3600 + 15 * 60


class TestStreaksAndRanks:
    def test_streak_counts_consecutive_days_and_breaks(self, channel):
        someone = person(channel)
        for day in [1, 2, 3]:
            streak = services.punch_in(user=someone, channel=channel, now=at(f"2026-03-0{day}T06:00:00")).punch.streak
        assert streak == 3
        assert services.punch_in(user=someone, channel=channel, now=at("2026-03-05T06:00:00")).punch.streak == 1

    def test_rank_and_percentile_by_local_time(self, channel):
        people = [person(channel) for _ in range(4)]  # 5 members with the host
        first = services.punch_in(user=people[0], channel=channel, now=at("2026-03-02T06:00:00"))
        second = services.punch_in(user=people[1], channel=channel, now=at("2026-03-02T06:30:00"))
        assert (first.punch.rank, first.percentile) == (1, 80)
        assert (second.punch.rank, second.percentile) == (2, 60)
        board = selectors.board(channel=channel, day=date(2026, 3, 2))
        assert [r.clock for r in board] == ["06:00", "06:30"]


class TestWindow:
    def test_outside_the_window_is_refused_with_the_window_shown(self, channel, host):
        services.clock_update(channel=channel, by=host, window_start=time(5), window_end=time(9), prompt="I'm up!")
        someone = person(channel, "Asia/Tokyo")
        with pytest.raises(ServiceError) as caught:
            services.punch_in(user=someone, channel=channel, now=at("2026-03-02T01:00:00"))  # 10:00 in Tokyo
        assert caught.value.code == "outside_window"
        assert "05:00–09:00" in caught.value.message
        services.punch_in(user=someone, channel=channel, now=at("2026-03-01T20:00:00"))  # 05:00 sharp: open

    def test_a_window_across_midnight(self, channel, host):
        services.clock_update(channel=channel, by=host, window_start=time(22), window_end=time(2), prompt="")
        owl = person(channel)
        services.punch_in(user=owl, channel=channel, now=at("2026-03-02T23:30:00"))
        with pytest.raises(ServiceError):
            services.punch_in(user=owl, channel=channel, now=at("2026-03-03T12:00:00"))

    def test_only_the_host_sets_the_clock_and_both_ends(self, channel, host):
        with pytest.raises(PermissionDenied):
            services.clock_update(channel=channel, by=person(channel), window_start=None, window_end=None, prompt="")
        with pytest.raises(ServiceError):
            services.clock_update(channel=channel, by=host, window_start=time(5), window_end=None, prompt="")


class TestSongs:
    def make_songs(self, n, media_root, with_audio=True):
        musician = make_user()
        music = make_channel(name=f"Music {n}", kind="music", category="music", host=musician)
        return [
            post_create_song(
                author=musician, channel=music, title=f"Song {i}", artist="A", audio=song() if with_audio else None
            )
            for i in range(n)
        ]

    def test_never_the_same_song_twice_in_a_row(self, channel, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        self.make_songs(2, tmp_path)
        someone = person(channel)
        heard = [
            services.punch_in(user=someone, channel=channel, now=at(f"2026-03-{day:02d}T06:00:00")).song
            for day in range(1, 7)
        ]
        assert all(song is not None for song in heard)
        assert all(a is not None and b is not None and a.pk != b.pk for a, b in itertools.pairwise(heard))

    def test_the_playlist_comes_first_and_site_music_is_the_fallback(self, channel, host, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        picked, _other = self.make_songs(2, tmp_path)
        services.playlist_add(channel=channel, by=host, song_post=picked)
        someone = person(channel)
        for day in ["01", "02"]:  # the second time too: the playlist has no other song
            heard = services.punch_in(user=someone, channel=channel, now=at(f"2026-03-{day}T06:00:00")).song
            assert heard is not None
            assert heard.post == picked
        services.playlist_remove(channel=channel, by=host, song_post=picked)
        assert services.punch_in(user=someone, channel=channel, now=at("2026-03-03T06:00:00")).song is not None

    def test_a_punch_still_plays_a_song_with_the_cache_away(self, channel, host, settings, tmp_path):
        """Ensure that Redis (production's cache) being away costs the song cache, not the punch."""
        settings.MEDIA_ROOT = tmp_path
        picked, _other = self.make_songs(2, tmp_path)
        services.playlist_add(channel=channel, by=host, song_post=picked)
        away = RedisConnectionError("Connection refused")
        with (
            mock.patch.object(services.shared_cache, "get", side_effect=away) as reads,
            mock.patch.object(services.shared_cache, "set", side_effect=away),
            mock.patch.object(services.shared_cache, "delete", side_effect=away),
        ):
            result = services.punch_in(user=person(channel), channel=channel, now=at("2026-03-01T06:00:00"))
            services.playlist_remove(channel=channel, by=host, song_post=picked)  # forgetting the pool fails quietly
        assert reads.called
        assert result.song is not None
        assert result.song.post == picked
        assert Punch.objects.filter(channel=channel).count() == 1

    def test_no_song_anywhere(self, channel):
        assert services.punch_in(user=person(channel), channel=channel).song is None

    def test_only_music_posts_join_the_playlist(self, channel, host):
        text_post = Post.objects.create(channel=make_channel(name="Talk"), author=host, kind="text", text="hi")
        with pytest.raises(ServiceError):
            services.playlist_add(channel=channel, by=host, song_post=text_post)


class TestPunchPosts:
    def test_a_punch_is_a_post_with_its_note_and_photo(self, channel, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        someone = person(channel)
        punch = services.punch_in(user=someone, channel=channel, note="  up   early ", photo=png()).punch
        assert punch.post.kind == "punch"
        assert punch.post.text == "up early"
        assert punch.post.images.count() == 1
        channel.refresh_from_db()
        assert channel.post_count == 1

    def test_refusals(self, channel):
        outsider = make_user()
        with pytest.raises(PermissionDenied):
            services.punch_in(user=outsider, channel=channel)
        with pytest.raises(ServiceError) as caught:
            services.punch_in(user=person(channel), channel=channel, note="x" * 141)
        assert "note" in caught.value.fields
        text_channel = make_channel(name="Talk")
        with pytest.raises(ServiceError) as wrong:
            services.punch_in(user=outsider, channel=text_channel)
        assert wrong.value.code == "wrong_kind"
        assert not Punch.objects.exists()


class TestCharts:
    def test_history_has_one_dot_per_punch_and_gaps(self, channel):
        someone = person(channel)
        for day in [1, 2, 4]:
            services.punch_in(user=someone, channel=channel, now=at(f"2026-03-0{day}T06:{day}0:00"))
        points = selectors.last_days(user=someone, channel=channel, today=date(2026, 3, 5))
        assert len(points) == 30
        svg = str(history_chart(points))
        assert svg.count("<circle") == 3
        path = re.search(r'<path class="line" d="([^"]*)"', svg)
        assert path
        assert path.group(1).count("M") == 1  # days 1–2 are joined; day 4 stands alone after the gap
        assert "06:10" in svg

    def test_histogram_has_24_bars_and_marks_mine(self):
        counts = [0] * 24
        counts[6] = 3
        svg = str(histogram_chart(counts, mine=6 * 3600 + 60))
        assert svg.count("<rect") == 24
        assert svg.count('class="bar mine"') == 1


class TestPages:
    def test_punch_with_htmx_shows_time_streak_rank_and_song(self, client, channel, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        TestSongs().make_songs(1, tmp_path)
        someone = person(channel, name="lark")
        client.force_login(someone)
        page = client.get(reverse("interests:channel", args=[channel.public_id]))
        assert 'class="punch-button"' in page.text
        response = client.post(
            reverse("punches:punch", args=[channel.public_id]), {"note": ""}, headers={"HX-Request": "true"}
        )
        assert response.status_code == 201
        assert "Day 1 in a row" in response.text
        assert "#1 today" in response.text
        assert "<audio" in response.text
        assert "autoplay" in response.text
        again = client.post(reverse("punches:punch", args=[channel.public_id]), {}, headers={"HX-Request": "true"})
        assert again.status_code == 409
        assert "You already punched in today" in again.text

    def test_sound_off_shows_a_play_button_instead(self, client, channel, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        TestSongs().make_songs(1, tmp_path)
        quiet = person(channel)
        quiet.sound_on = False
        quiet.save()
        client.force_login(quiet)
        response = client.post(reverse("punches:punch", args=[channel.public_id]), {}, headers={"HX-Request": "true"})
        assert "<audio" in response.text
        assert "autoplay" not in response.text

    def test_records_page(self, client, channel, host):
        someone = person(channel)
        services.punch_in(user=someone, channel=channel)
        client.force_login(host)
        page = client.get(reverse("punches:records", args=[channel.public_id]))
        assert page.status_code == 200
        assert someone.username in page.text
        assert "This week (host)" in page.text
        assert page.text.count('<svg class="chart') == 2


class TestApi:
    def test_punch_and_board(self, client, channel):
        import json

        from tests.factories import PASSWORD

        someone = person(channel, name="lark")
        token = client.post(
            "/api/v1/auth/token", json.dumps({"login": "lark", "password": PASSWORD}), content_type="application/json"
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        made = client.post(
            f"/api/v1/channels/{channel.public_id}/punch",
            json.dumps({"note": "up"}),
            content_type="application/json",
            headers=headers,
        )
        assert made.status_code == 201
        body = made.json()
        assert set(body) >= {"punched_at", "local_date", "streak", "rank", "percentile", "song"}
        assert (body["streak"], body["rank"], body["song"]) == (1, 1, None)
        again = client.post(
            f"/api/v1/channels/{channel.public_id}/punch",
            json.dumps({}),
            content_type="application/json",
            headers=headers,
        )
        assert again.status_code == 409
        assert again.json()["code"] == "already_punched"
        board = client.get(f"/api/v1/channels/{channel.public_id}/punches", headers=headers).json()
        assert [row["username"] for row in board["items"]] == [someone.username]
        bad_date = client.get(f"/api/v1/channels/{channel.public_id}/punches", {"date": "yesterday"}, headers=headers)
        assert bad_date.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_punches_by_one_person_make_one():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the PostgreSQL run exercises real concurrency")
    channel = make_channel(name="Rush", kind="punch", category="rituals")
    someone = make_user()
    channel_join(user=someone, channel=channel)
    barrier = threading.Barrier(20)
    outcomes: list[str] = []

    def tap():
        try:
            barrier.wait()
            services.punch_in(user=someone, channel=channel)
            outcomes.append("punched")
        except ServiceError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("punched") == 1
    assert outcomes.count("already_punched") == 19
    assert Punch.objects.count() == 1
    assert Post.objects.filter(kind="punch").count() == 1


def test_zoneinfo_sanity():
    assert datetime(2026, 3, 8, 7, 30, tzinfo=UTC).astimezone(ZoneInfo("America/New_York")).hour == 3


class TestPlaylistSize:
    def test_a_playlist_holds_a_hundred_songs_and_refuses_the_next(self, channel, host, monkeypatch):
        """Ensure that the playlist stays one page: the 101st song is refused with a code, a song already
        in it is still fine, and a song taken out makes room."""
        monkeypatch.setattr(services, "PLAYLIST_SIZE", 3)
        musician = make_user()
        music = make_channel(name="Tunes", kind="music", category="music", host=musician)
        songs = [post_create_song(author=musician, channel=music, title=f"S{i}", artist="A") for i in range(4)]
        for picked in songs[:3]:
            services.playlist_add(channel=channel, by=host, song_post=picked)
        with pytest.raises(ServiceError) as refused:
            services.playlist_add(channel=channel, by=host, song_post=songs[3])
        assert refused.value.code == "playlist_full"
        assert "3" in refused.value.message
        assert len(selectors.playlist(channel=channel)) == 3
        services.playlist_add(channel=channel, by=host, song_post=songs[0])  # already in: no change, no refusal
        services.playlist_remove(channel=channel, by=host, song_post=songs[0])
        services.playlist_add(channel=channel, by=host, song_post=songs[3])
        assert {e.song_post_id for e in selectors.playlist(channel=channel)} == {s.pk for s in songs[1:]}
