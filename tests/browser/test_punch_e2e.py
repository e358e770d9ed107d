"""Punch in as a person does, on a phone: tap the big button, hear the song start, see the records."""

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from interests.services import channel_join
from posts.songs import post_create_song
from punches.models import Punch
from punches.services import clock_update, playlist_add, punch_in
from tests.factories import make_channel, make_user
from tests.samples import song


@pytest.fixture
def birds(media_root):
    host = make_user(username="rooster", timezone="Europe/Paris")
    channel = make_channel(name="Early birds", kind="punch", category="rituals", host=host)
    music = make_channel(name="Wake-up songs", kind="music", category="music", host=host)
    chime = post_create_song(author=host, channel=music, title="Morning chime", artist="same", audio=song(seconds=4))
    playlist_add(channel=channel, by=host, song_post=chime)
    return channel


def test_punching_in_plays_a_song_and_shows_rank_streak_and_charts(birds, signed_in, shot):
    lark = make_user(username="lark", timezone="Europe/Paris")
    channel_join(user=lark, channel=birds)
    # Two earlier days for a streak and a chart with points.
    for days_ago in (2, 1):
        punch_in(user=lark, channel=birds, now=timezone.now() - timedelta(days=days_ago))
    page = signed_in(lark)
    page.goto(f"/c/{birds.public_id}")
    button = page.locator(".punch-button")
    expect(button).to_be_visible()
    shot(page, "punch-before")
    button.tap()
    expect(page.locator(".punched")).to_be_visible()
    expect(page.locator(".punch-facts")).to_contain_text("Day 3 in a row")
    expect(page.locator(".punch-facts")).to_contain_text("#1 today")
    expect(page.locator(".punch-song")).to_contain_text("Morning chime")
    audio = page.locator("#punch-audio")
    page.wait_for_function(
        "() => { const a = document.getElementById('punch-audio'); return a && !a.paused && a.currentTime > 0 }"
    )
    assert audio.evaluate("a => a.paused") is False
    shot(page, "punch-after")
    assert Punch.objects.filter(user=lark, channel=birds).count() == 3

    page.get_by_role("link", name="See today's board and my 30 days").tap()
    expect(page.get_by_role("heading", name="Records")).to_be_visible()
    expect(page.locator("svg.history circle")).to_have_count(3)
    expect(page.locator("svg.histogram rect.bar.mine")).to_have_count(1)
    expect(page.locator(".board")).to_contain_text("lark")
    shot(page, "punch-records")

    page.goto(f"/c/{birds.public_id}")
    expect(page.locator(".punch-button")).to_have_count(0)  # once a day: today's punch shows instead
    expect(page.locator(".punched")).to_contain_text("punched in")


def test_with_sound_off_the_song_waits_for_a_tap(birds, signed_in, shot):
    quiet = make_user(username="quiet", timezone="Europe/Paris", sound_on=False)
    channel_join(user=quiet, channel=birds)
    page = signed_in(quiet)
    page.goto(f"/c/{birds.public_id}")
    page.locator(".punch-button").tap()
    expect(page.locator(".punched")).to_be_visible()
    audio = page.locator("#punch-audio")
    expect(audio).to_be_visible()
    page.wait_for_timeout(500)
    assert audio.evaluate("a => a.paused") is True
    shot(page, "punch-sound-off")


def test_outside_the_window_the_refusal_shows_the_window(birds, signed_in):
    host = birds.host
    # A one-minute window twelve hours away from now, Paris time: surely closed.
    paris = timezone.now().astimezone(ZoneInfo("Europe/Paris"))
    start = (paris + timedelta(hours=12)).time().replace(second=0, microsecond=0)
    end = (paris + timedelta(hours=12, minutes=1)).time().replace(second=0, microsecond=0)
    clock_update(channel=birds, by=host, window_start=start, window_end=end, prompt="I'm up!")
    lark = make_user(username="lark2", timezone="Europe/Paris")
    channel_join(user=lark, channel=birds)
    page = signed_in(lark)
    page.goto(f"/c/{birds.public_id}")
    expect(page.locator(".punch-button")).to_contain_text("I'm up!")
    page.locator(".punch-button").tap()
    expect(page.locator(".form-error")).to_contain_text(f"{start:%H:%M}–{end:%H:%M}")
    assert not Punch.objects.filter(user=lark).exists()
