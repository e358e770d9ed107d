"""The morning rush: many people punching into one channel at once (docs/performance.md)."""

import hashlib
import json
import secrets
import threading
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count

from accounts.models import AccessToken
from interests.models import Channel
from interests.services import channel_join
from posts.models import Post, Song
from punches import services
from punches.models import Punch
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db


def postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the one-round-trip punch is PostgreSQL's; SQLite serialises writers")


def ranks_differing_from_a_recount(channel: Channel) -> int:
    punches = list(Punch.objects.filter(channel=channel))
    return sum(
        1
        for p in punches
        if p.rank != 1 + sum(1 for q in punches if q.local_date == p.local_date and q.local_seconds < p.local_seconds)
    )


@pytest.mark.django_db(transaction=True)
def test_thirty_people_at_once_get_one_punch_each_and_ranks_a_recount_agrees_with():
    """Ensure that concurrent punches by different people are all written, each once, ranked as a recount ranks them."""
    postgres_only()
    channel = make_channel(name="Rush hour", kind="punch", category="rituals")
    people = [make_user(timezone="Europe/Paris") for _ in range(30)]
    for someone in people:
        channel_join(user=someone, channel=channel)
    before = Channel.objects.values_list("post_count", flat=True).get(pk=channel.pk)
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []

    def punch_in(someone):
        try:
            barrier.wait()
            services.punch_in(user=someone, channel=channel)
            outcomes.append("punched")
        except Exception as error:  # noqa: BLE001  (the test reports any failure below)
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=punch_in, args=(someone,)) for someone in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["punched"] * len(people)
    punches = Punch.objects.filter(channel=channel)
    assert punches.count() == len(people)
    assert not punches.values("user").annotate(n=Count("pk")).filter(n__gt=1).exists()
    assert ranks_differing_from_a_recount(channel) == 0
    assert Channel.objects.values_list("post_count", flat=True).get(pk=channel.pk) == before + len(people)
    for punch in punches.select_related("post"):
        assert punch.post.created_at == punch.punched_at
        assert (punch.post.kind, punch.post.author_id, punch.post.channel_id) == ("punch", punch.user_id, channel.pk)


def test_the_one_trip_punch_matches_the_orm_one():
    """Ensure that PostgreSQL's one-round-trip punch stores what the ORM's transaction stores, the day after too."""
    postgres_only()
    channel = make_channel(name="Twins", kind="punch", category="rituals")
    one, other = make_user(timezone="America/New_York"), make_user(timezone="America/New_York")
    for someone in (one, other):
        channel_join(user=someone, channel=channel)
    dj = make_user()
    music = make_channel(host=dj, name="Tunes", kind="music", category="music")
    song_post = Post.objects.create(channel=music, author=dj, kind="music")
    song = Song.objects.create(post=song_post, title="Morning", artist="Bench")
    moments = [datetime(2026, 3, 7, 11, 15, 30, 900_000, tzinfo=UTC), datetime(2026, 3, 8, 11, 15, tzinfo=UTC)]
    written: dict[str, list[tuple[object, ...]]] = {"trip": [], "orm": []}
    for someone, how, write in ((one, "trip", services._punch_row_in_one_trip), (other, "orm", services._punch_row)):
        streak_from = None
        for moment in moments:  # 06:15:30 EST, then 07:15 EDT the next morning
            with transaction.atomic():
                punch, members = write(
                    user=someone, channel=channel, note="hi", now=moment, streak_from=streak_from, song=song
                )
            stored = Punch.objects.select_related("post").get(pk=punch.pk)
            streak_from = (stored.local_date, stored.streak)
            written[how].append(
                (
                    stored.punched_at,
                    stored.local_date,
                    stored.local_seconds,
                    stored.streak,
                    stored.time_zone,
                    stored.song_post_id,
                    stored.post.text,
                    stored.post.created_at,
                    members,
                    (punch.punched_at, punch.local_date, punch.local_seconds, punch.streak, punch.rank),
                )
            )
    assert written["trip"] == written["orm"]
    assert [row[2] for row in written["trip"]] == [6 * 3600 + 15 * 60 + 30, 7 * 3600 + 15 * 60]
    assert [row[3] for row in written["trip"]] == [1, 2]
    ranks = list(Punch.objects.filter(channel=channel).order_by("user_id", "local_date").values_list("rank", flat=True))
    assert ranks == [1, 1, 1, 1]  # the same second each day: a tie, not a second place


def test_a_second_punch_the_same_day_is_refused_by_the_database_without_breaking_the_transaction():
    """Ensure that the one-trip punch raises IntegrityError for a double and leaves the caller's transaction usable."""
    postgres_only()
    channel = make_channel(name="Doubles", kind="punch", category="rituals")
    someone = make_user()
    channel_join(user=someone, channel=channel)
    now = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
    services._punch_row_in_one_trip(user=someone, channel=channel, note="", now=now, streak_from=None, song=None)
    with pytest.raises(IntegrityError), transaction.atomic():
        services._punch_row_in_one_trip(user=someone, channel=channel, note="", now=now, streak_from=None, song=None)
    assert Punch.objects.filter(channel=channel).count() == 1
    assert Post.objects.filter(channel=channel, kind="punch").count() == 1


def test_a_zone_postgresql_does_not_know_takes_the_orm_path(monkeypatch):
    """Ensure that a time zone only Python knows still punches, through the ORM's transaction."""
    postgres_only()
    monkeypatch.setattr(services, "_ZONES_POSTGRES_KNOWS", {"Asia/Kathmandu": False})
    one_trip = []
    monkeypatch.setattr(services, "_punch_row_in_one_trip", lambda **kwargs: one_trip.append(kwargs))
    channel = make_channel(name="Far away", kind="punch", category="rituals")
    someone = make_user(timezone="Asia/Kathmandu")
    channel_join(user=someone, channel=channel)
    punch = services.punch_in(user=someone, channel=channel, now=datetime(2026, 3, 2, 0, 0, tzinfo=UTC)).punch
    assert one_trip == []
    assert (punch.local_date.isoformat(), punch.local_seconds) == ("2026-03-02", 5 * 3600 + 45 * 60)


def test_postgresql_is_asked_about_a_zone_once_and_a_refusal_leaves_the_transaction_usable(
    monkeypatch, django_assert_num_queries
):
    """Ensure that each zone is checked by one cheap statement per process, and an unknown one is a plain no."""
    postgres_only()
    monkeypatch.setattr(services, "_ZONES_POSTGRES_KNOWS", {})
    with transaction.atomic():
        with django_assert_num_queries(3):  # savepoint, the check, release
            assert services._postgres_knows_zone("Europe/Paris") is True
        with django_assert_num_queries(0):
            assert services._postgres_knows_zone("Europe/Paris") is True
        assert services._postgres_knows_zone("Nowhere/Atlantis") is False
        assert services._postgres_knows_zone("Nowhere/Atlantis") is False
        assert make_user().pk  # the transaction still works after PostgreSQL's refusal
    assert services._ZONES_POSTGRES_KNOWS == {"Europe/Paris": True, "Nowhere/Atlantis": False}


def test_a_database_that_cannot_answer_about_a_zone_is_not_taken_for_a_no(monkeypatch):
    """Ensure that a broken connection while asking about a zone raises, and nothing is noted about the zone."""
    postgres_only()
    monkeypatch.setattr(services, "_ZONES_POSTGRES_KNOWS", {})

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(services.connection, "cursor", broken)
    with pytest.raises(OperationalError):
        services._postgres_knows_zone("Europe/Paris")
    assert services._ZONES_POSTGRES_KNOWS == {}


def test_an_api_punch_makes_few_queries(client, django_assert_max_num_queries):
    """Ensure that a punch through the API stays a handful of queries once the song pool is cached."""
    channel = make_channel(name="Counted", kind="punch", category="rituals")
    people = [make_user() for _ in range(2)]
    tokens = []
    for someone in people:
        channel_join(user=someone, channel=channel)
        secret = f"same_{secrets.token_urlsafe(32)}"
        AccessToken.objects.create(user=someone, digest=hashlib.sha256(secret.encode()).hexdigest(), name="app")
        tokens.append(secret)

    def punch(token: str) -> int:
        answer = client.post(
            f"/api/v1/channels/{channel.public_id}/punch",
            json.dumps({}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        return answer.status_code

    assert punch(tokens[0]) == 201  # fills the song pool's cache
    # The token and its last use, the channel, the person's latest punch, then the punch: on PostgreSQL
    # one statement (in a savepoint here, inside the test's transaction); on SQLite the ORM's transaction.
    with django_assert_max_num_queries(7 if connection.vendor == "postgresql" else 11):
        assert punch(tokens[1]) == 201


def test_the_api_refuses_a_stranger_and_hides_a_closed_channel(client):
    """Ensure that the punch's own channel lookup keeps channel_get's rules: members only, closed is gone."""
    channel = make_channel(name="Members", kind="punch", category="rituals")
    stranger = make_user()
    secret = f"same_{secrets.token_urlsafe(32)}"
    AccessToken.objects.create(user=stranger, digest=hashlib.sha256(secret.encode()).hexdigest(), name="app")
    url = f"/api/v1/channels/{channel.public_id}/punch"
    headers = {"Authorization": f"Bearer {secret}"}
    refused = client.post(url, json.dumps({}), content_type="application/json", headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "not_member")
    channel_join(user=stranger, channel=channel)
    Channel.objects.filter(pk=channel.pk).update(is_closed=True)
    gone = client.post(url, json.dumps({}), content_type="application/json", headers=headers)
    assert gone.status_code == 404
    assert not Punch.objects.exists()
