"""The punch's hand-written lookups (punches.selectors.punch_channel_get, punches.services._latest_punch)
give what the ORM gives: the same channel, membership and clock (times converted on SQLite too), the
same last punch, and the same refusals."""

from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import NotFound
from interests.models import Channel
from interests.services import channel_join
from punches import services
from punches.models import Punch, PunchClock
from punches.selectors import punch_channel_get
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db


def test_the_channel_comes_with_membership_and_its_clock_converted():
    host = make_user()
    channel = make_channel(host, name="Early", kind="punch", category="rituals")
    PunchClock.objects.update_or_create(
        channel=channel, defaults={"window_start": time(5, 0), "window_end": time(9, 30), "prompt": "I'm up!"}
    )
    stranger = make_user()
    got = punch_channel_get(viewer=host, public_id=channel.public_id)
    assert (got.pk, got.name, got.kind, got.member_count, got.joined) == (channel.pk, "Early", "punch", 1, True)
    with CaptureQueriesContext(connection) as queries:
        clock = got.punch_clock
    assert len(queries) == 0  # came with the channel, as select_related would bring it
    orm = PunchClock.objects.get(channel=channel)
    assert (clock.pk, clock.window_start, clock.window_end, clock.prompt) == (
        orm.pk,
        time(5, 0),
        time(9, 30),
        "I'm up!",
    )
    assert punch_channel_get(viewer=stranger, public_id=channel.public_id).joined is False


def test_a_channel_without_a_clock_says_so_without_asking_again():
    channel = make_channel(kind="punch", category="rituals")
    PunchClock.objects.filter(channel=channel).delete()
    got = punch_channel_get(viewer=make_user(), public_id=channel.public_id)
    with CaptureQueriesContext(connection) as queries:
        assert services._clock_of(got) is None
    assert len(queries) == 0


def test_closed_and_unknown_channels_are_not_found():
    channel = make_channel(kind="punch", category="rituals")
    Channel.objects.filter(pk=channel.pk).update(is_closed=True)
    with pytest.raises(NotFound):
        punch_channel_get(viewer=make_user(), public_id=channel.public_id)
    with pytest.raises(NotFound):
        punch_channel_get(viewer=make_user(), public_id="nosuchchannel")


def test_the_latest_punch_is_the_ormS_own():
    channel = make_channel(kind="punch", category="rituals")
    owl = make_user(timezone="Pacific/Kiritimati")
    channel_join(user=owl, channel=channel)
    assert services._latest_punch(owl, channel) is None
    services.punch_in(user=owl, channel=channel, now=datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    services.punch_in(user=owl, channel=channel, now=datetime(2026, 11, 25, 20, 0, tzinfo=UTC))
    orm = (
        Punch.objects.filter(user=owl, channel=channel)
        .order_by("-local_date")
        .values("local_date", "streak", "song_post_id", "punched_at")
        .first()
    )
    assert services._latest_punch(owl, channel) == orm
    assert orm is not None
    assert (orm["streak"], orm["punched_at"]) == (2, datetime(2026, 11, 25, 20, 0, tzinfo=UTC))
