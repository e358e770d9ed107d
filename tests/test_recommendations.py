import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.selectors import account_export
from chat.blocks import block_create
from interests.models import Channel
from interests.services import channel_join, channel_leave
from posts.models import Post
from posts.services import post_create_text, same_add
from recommendations import engine, selectors, services
from recommendations import recompute as recompute_module
from recommendations.models import ChannelNeighbour, ChannelSuggestion, NotInterested, RecommendationPrefs
from recommendations.recompute import recompute_everyone, recompute_person
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"


def crowd(size, *channels):
    """`size` people, each joining every one of `channels`."""
    people = [make_user() for _ in range(size)]
    for person in people:
        for channel in channels:
            channel_join(user=person, channel=channel)
    return people


@pytest.fixture
def town():
    """Insomnia and Night walks share a crowd of 4; Knitting is elsewhere; two people also share
    Insomnia and Secret garden (too few to count)."""
    insomnia = make_channel(name="Insomnia", category="moods", description="Awake at 3 a.m.")
    walks = make_channel(name="Night walks", category="life", description="Streets after midnight.")
    knitting = make_channel(name="Knitting", category="art", description="Yarn and patience.")
    secret = make_channel(name="Secret garden", category="life", description="Plants.")
    crowd(4, insomnia, walks)
    tell_tale = crowd(2, insomnia, secret)
    viewer = make_user(username="viewer")
    channel_join(user=viewer, channel=insomnia)
    return {
        "viewer": viewer,
        "insomnia": insomnia,
        "walks": walks,
        "knitting": knitting,
        "secret": secret,
        "tell_tale": tell_tale,
    }


def picks_of(user, size=10):
    return {p.channel.name: p for p in selectors.channel_picks(viewer=user, size=size)}


class TestEngine:
    def test_grams_work_for_chinese_and_english(self):
        assert {"失眠", "眠的"} <= engine.text_grams("失眠的人")
        assert " in" in engine.text_grams("Insomnia")
        assert "nia" in engine.text_grams("INSOMNIA")
        assert engine.text_grams("ＩＮＳＯＭＮＩＡ") == engine.text_grams("insomnia")

    def test_two_people_are_not_a_crowd(self):
        profiles = {p: {1: 1.0, 2: 1.0} for p in range(engine.MIN_CROWD - 1)}
        assert engine.cf_neighbours(profiles.values()) == {}
        profiles = {p: {1: 1.0, 2: 1.0} for p in range(engine.MIN_CROWD)}
        assert set(engine.cf_neighbours(profiles.values())[1]) == {2}

    def test_the_starter_list_is_varied(self):
        facts = [
            engine.ChannelFacts(id=i, category=f"c{i % 5}", members=1000 if i < 5 else i, age_days=100, idle_days=1)
            for i in range(40)
        ]
        facts.append(engine.ChannelFacts(id=99, category="c0", members=1, age_days=2, idle_days=1))
        start = engine.starter(facts, size=15)
        assert len({f.category for f in facts if f.id in {s.channel for s in start}}) == 5
        assert {s.reason for s in start} == {engine.POPULAR, engine.ACTIVE, engine.NEW}


class TestChannelsForYou:
    def test_reasons_name_the_viewers_own_channel_and_nobody(self, town):
        """Ensure that a suggestion's reason is the viewer's own join, and that a pair only two
        people share is never used."""
        recompute_everyone()
        picks = picks_of(town["viewer"])
        walks = picks["Night walks"]
        assert walks.why.kind == "joined"
        assert walks.why.via == town["insomnia"]
        assert walks.why.text == "Because you joined Insomnia"
        assert "Secret garden" not in picks or picks["Secret garden"].why.kind in {"popular", "active", "new"}
        assert not ChannelNeighbour.objects.filter(channel=town["insomnia"], neighbour=town["secret"]).exists()

    def test_felt_same_reason(self, town):
        author = make_user()
        channel_join(user=author, channel=town["knitting"])
        post = post_create_text(author=author, channel=town["knitting"], text="One more row")
        viewer = make_user()
        same_add(user=viewer, post=post)
        for person in crowd(3, town["knitting"], town["walks"]):
            same_add(user=person, post=post)
        recompute_everyone()
        walks = picks_of(viewer)["Night walks"]
        assert walks.why.kind == "felt_same"
        assert walks.why.text == "Because you felt the same about posts in Knitting"

    def test_joined_channels_never_appear(self, town):
        recompute_everyone()
        viewer = town["viewer"]
        assert "Insomnia" not in picks_of(viewer)
        channel_join(user=viewer, channel=town["walks"])  # after the recompute: the read filters it
        assert "Night walks" not in picks_of(viewer)
        assert not any(p.channel.pk == town["insomnia"].pk for p in selectors.starter_picks(viewer=viewer))

    def test_not_interested_sticks(self, town, immediate_tasks):
        recompute_everyone()
        viewer = town["viewer"]
        services.not_interested_add(user=viewer, channel=town["walks"])
        assert "Night walks" not in picks_of(viewer)
        recompute_everyone()
        recompute_person(viewer)
        assert "Night walks" not in picks_of(viewer)
        assert not ChannelSuggestion.objects.filter(user=viewer, channel=town["walks"]).exists()
        services.not_interested_add(user=viewer, channel=town["walks"])  # twice: still one row
        assert NotInterested.objects.filter(user=viewer).count() == 1

    def test_not_interested_counts_against_neighbours(self):
        neighbours = {1: {3: 0.5}, 2: {3: 0.3, 4: 0.2}}
        liked = engine.recommend(
            profile={1: 1.0}, joined={1}, exclude=set(), neighbours=neighbours, prior={}, category_of={}
        )
        assert [s.channel for s in liked] == [3]
        disliked = engine.recommend(
            profile={1: 1.0}, joined={1}, exclude={2}, neighbours=neighbours, prior={}, category_of={}, dislikes=[2]
        )
        assert disliked[0].score < liked[0].score

    def test_personalisation_off_means_popular_and_new_only(
        self, town, immediate_tasks, django_capture_on_commit_callbacks
    ):
        recompute_everyone()
        viewer = town["viewer"]
        services.prefs_update(user=viewer, personalised=False)
        assert not ChannelSuggestion.objects.filter(user=viewer).exists()
        assert {p.why.kind for p in selectors.channel_picks(viewer=viewer)} <= {"popular", "active", "new"}
        recompute_everyone()
        assert not ChannelSuggestion.objects.filter(user=viewer).exists()
        with django_capture_on_commit_callbacks(execute=True):
            services.prefs_update(user=viewer, personalised=True)  # back on: recomputed (immediately here)
        assert picks_of(viewer)["Night walks"].why.kind == "joined"

    def test_cold_start_is_not_empty_and_varied(self):
        host = make_user()
        for i, category in enumerate(["moods", "life", "art", "music", "food"] * 3):
            channel = make_channel(host=host, name=f"Place {i}", category=category)
            Channel.objects.filter(pk=channel.pk).update(
                member_count=100 - i * 5, created_at=timezone.now() - timedelta(days=30 + i)
            )
        small = make_channel(host=host, name="Tiny and new", category="pets")
        newcomer = make_user()
        picks = selectors.channel_picks(viewer=newcomer)
        assert len(picks) == 10
        assert len({p.channel.category for p in picks}) >= 5
        assert small in [p.channel for p in picks]
        assert {p.why.kind for p in picks} >= {"popular", "new"}

    def test_the_starter_list_costs_two_queries_however_big_its_pool_and_shows_no_closed_channel(
        self, django_assert_num_queries
    ):
        """The pool's facts in one query, the chosen channels with their hosts in another: 5 channels or 40."""
        host = make_user()
        newcomer = make_user()
        categories = ["moods", "life", "art", "music", "food"]
        for total in (5, 40):
            while Channel.objects.count() < total:
                n = Channel.objects.count()
                make_channel(host=host, name=f"Place {n}", category=categories[n % 5])
            with django_assert_num_queries(2):
                picks = selectors.starter_picks(viewer=newcomer, size=10)
                hosts = {p.channel.host for p in picks}  # read with the channels
            assert len(picks) == min(total, 10)
            assert hosts == {host}
        closed = picks[0].channel
        Channel.objects.filter(pk=closed.pk).update(is_closed=True)
        assert closed not in [p.channel for p in selectors.starter_picks(viewer=newcomer, size=40)]

    def test_enough_new_signals_recompute_the_person(self, town, immediate_tasks, django_capture_on_commit_callbacks):
        recompute_everyone()
        newcomer = make_user()
        assert not services.refresh_if_due(user=newcomer, prefs=selectors.prefs_get(user=newcomer))
        channel_join(user=newcomer, channel=town["insomnia"])
        with django_capture_on_commit_callbacks(execute=True):
            assert services.refresh_if_due(user=newcomer, prefs=selectors.prefs_get(user=newcomer))
        assert picks_of(newcomer)["Night walks"].why.kind == "joined"
        prefs = selectors.prefs_get(user=newcomer)
        channel_join(user=newcomer, channel=town["knitting"])
        assert not services.refresh_if_due(user=newcomer, prefs=prefs)  # one new signal is not enough


class TestDiscover:
    def test_posts_of_unjoined_channels_with_reasons_varied(self, town, immediate_tasks):
        walks = town["walks"]
        writer = make_user()
        channel_join(user=writer, channel=walks)
        for i in range(5):
            post_create_text(author=writer, channel=walks, text=f"Walk {i}")
        other = make_user()
        channel_join(user=other, channel=town["knitting"])
        post_create_text(author=other, channel=town["knitting"], text="Purl")
        recompute_everyone()
        page = selectors.post_picks(viewer=town["viewer"])
        texts = [p.post.text for p in page.items]
        assert "Purl" in texts
        assert len(texts) == 6
        assert texts[:3].count("Walk 4") + texts[:3].count("Walk 3") == 2  # two of one channel, then another
        assert all(p.post.channel_id != town["insomnia"].pk for p in page.items)
        walk = next(p for p in page.items if p.post.channel_id == walks.pk)
        assert walk.why.text == "Because you joined Insomnia"
        services.not_interested_add(user=town["viewer"], post=walk.post)
        assert walk.post not in [p.post for p in selectors.post_picks(viewer=town["viewer"]).items]

    def test_never_own_blocked_removed_or_old_posts_and_a_busy_channel_reads_its_newest(self, town):
        walks, viewer = town["walks"], town["viewer"]
        writer, rude = make_user(), make_user(username="rude")
        for person in (writer, rude, viewer):
            channel_join(user=person, channel=walks)
        busy = [post_create_text(author=writer, channel=walks, text=f"Walk {i}") for i in range(12)]
        post_create_text(author=rude, channel=walks, text="From someone blocked")
        post_create_text(author=viewer, channel=walks, text="My own")
        gone = post_create_text(author=writer, channel=walks, text="Removed")
        Post.objects.filter(pk=gone.pk).update(removed_at=timezone.now())
        old = post_create_text(author=writer, channel=walks, text="Last season")
        Post.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))
        channel_leave(user=viewer, channel=walks)
        block_create(blocker=viewer, username="rude")
        recompute_everyone()
        texts = [p.post.text for p in selectors.post_picks(viewer=viewer).items]
        assert texts
        assert not {"From someone blocked", "My own", "Removed", "Last season"} & set(texts)
        read = selectors._recent_posts(viewer=viewer, channel_ids=[walks.pk], since=timezone.now() - timedelta(days=30))
        assert {c.pk for c in read} == {p.pk for p in busy[-selectors.POSTS_PER_CHANNEL_READ :]}  # the newest

    def test_discover_page_and_query_count(self, town, client, django_assert_max_num_queries):
        writer = make_user()
        for channel in (town["walks"], town["knitting"], town["secret"]):
            channel_join(user=writer, channel=channel)
            for i in range(4):
                post_create_text(author=writer, channel=channel, text=f"{channel.name} {i}")
        recompute_everyone()
        client.force_login(town["viewer"])
        with django_assert_max_num_queries(16):
            response = client.get(reverse("recommendations:discover"))
        assert response.status_code == 200
        assert response.text.count('class="rec-item"') == 12
        assert "Because you joined Insomnia" in response.text
        assert "Not interested" in response.text


class TestWeb:
    def test_explore_loads_the_strip(self, town, client):
        client.force_login(town["viewer"])
        page = client.get(reverse("interests:explore"))
        assert reverse("recommendations:for_you") in page.text
        assert reverse("recommendations:for_you") not in client.get(reverse("interests:explore") + "?q=x").text

    def test_strip_and_not_interested(self, town, client, django_assert_max_num_queries):
        recompute_everyone()
        client.force_login(town["viewer"])
        with django_assert_max_num_queries(10):
            strip = client.get(reverse("recommendations:for_you"), headers={"HX-Request": "true"})
        assert "Channels for you" in strip.text
        assert "Because you joined Insomnia" in strip.text
        assert "<html" not in strip.text
        for person in town["tell_tale"]:
            assert person.username not in strip.text
        gone = client.post(
            reverse("recommendations:not_interested"),
            {"channel_id": town["walks"].public_id},
            headers={"HX-Request": "true"},
        )
        assert gone.status_code == 200
        assert gone.text == ""
        assert "Night walks" not in client.get(reverse("recommendations:for_you"), headers={"HX-Request": "true"}).text

    def test_switch_on_the_page(self, town, client, immediate_tasks):
        client.force_login(town["viewer"])
        client.post(reverse("recommendations:personalise"), {"personalised": "off", "next": "/discover"})
        assert RecommendationPrefs.objects.get(user=town["viewer"]).personalised is False
        assert "Not personalised" in client.get(reverse("recommendations:discover")).text


@pytest.fixture
def api(client):
    def for_user(user):
        token = client.post(
            API + "/auth/token",
            json.dumps({"login": user.username, "password": PASSWORD}),
            content_type="application/json",
        ).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        class Api:
            def get(self, path, **params):
                return client.get(API + path, params, headers=headers)

            def send(self, method, path, body):
                return getattr(client, method)(
                    API + path, json.dumps(body), content_type="application/json", headers=headers
                )

        return Api()

    return for_user


class TestApi:
    def test_channels_posts_settings_not_interested(self, town, api, django_assert_max_num_queries):
        writer = make_user()
        channel_join(user=writer, channel=town["walks"])
        post = post_create_text(author=writer, channel=town["walks"], text="Quiet street")
        recompute_everyone()
        me = api(town["viewer"])
        with django_assert_max_num_queries(8):
            channels = me.get("/recommendations/channels")
        assert channels.status_code == 200
        first = next(i for i in channels.json()["items"] if i["channel"]["name"] == "Night walks")
        assert first["reason"] == "Because you joined Insomnia"
        assert first["reason_kind"] == "joined"
        assert first["reason_channel"] == {"id": town["insomnia"].public_id, "name": "Insomnia"}
        assert first["channel"]["joined"] is False
        assert all(i["channel"]["name"] != "Insomnia" for i in channels.json()["items"])
        for person in town["tell_tale"]:
            assert person.username not in channels.text

        posts = me.get("/recommendations/posts").json()
        assert [i["post"]["text"] for i in posts["items"]] == ["Quiet street"]
        assert posts["items"][0]["reason"] == "Because you joined Insomnia"
        assert posts["next"] is None

        assert me.send("post", "/recommendations/not-interested", {"post_id": post.public_id}).status_code == 204
        assert me.get("/recommendations/posts").json()["items"] == []
        refused = me.send("post", "/recommendations/not-interested", {})
        assert refused.status_code == 400
        assert refused.json()["code"] == "one_thing"
        assert me.send("post", "/recommendations/not-interested", {"channel_id": "nope"}).status_code == 404

        assert me.get("/recommendations/settings").json() == {"personalised": True}
        assert me.send("put", "/recommendations/settings", {"personalised": False}).json() == {"personalised": False}
        kinds = {i["reason_kind"] for i in me.get("/recommendations/channels").json()["items"]}
        assert kinds <= {"popular", "active", "new"}

    def test_bad_cursor(self, town, api):
        answer = api(town["viewer"]).get("/recommendations/posts", cursor="zz")
        assert answer.status_code == 400
        assert answer.json()["code"] == "invalid_cursor"

    def test_needs_a_person(self, client):
        assert client.get(API + "/recommendations/channels").status_code == 401


class TestAccount:
    def test_export_and_deletion(self, town, password):
        from accounts.services import user_delete

        recompute_everyone()
        viewer = town["viewer"]
        services.not_interested_add(user=viewer, channel=town["knitting"])
        section = account_export(user=viewer)["recommendations"]
        assert section["personalised"] is True
        assert {"channel": "Night walks", "reason": "joined", "because_of": "Insomnia"} in section["suggested_channels"]
        assert section["not_interested"][0]["channel"] == town["knitting"].public_id
        user_delete(user=viewer, password=password)
        assert not ChannelSuggestion.objects.filter(user_id=viewer.pk).exists()
        assert not NotInterested.objects.filter(user_id=viewer.pk).exists()


class TestRecomputeGenerations:
    def test_people_with_no_signals_any_more_lose_their_rows(self, town):
        viewer = town["viewer"]
        recompute_everyone()
        assert ChannelSuggestion.objects.filter(user=viewer).exists()
        channel_leave(user=viewer, channel=town["insomnia"])  # their only signal
        stats = recompute_everyone()
        assert not ChannelSuggestion.objects.filter(user=viewer).exists()
        assert stats.stale_rows > 0
        others = ChannelSuggestion.objects.exclude(user=viewer)
        assert others.exists()  # only the stale person's rows went
        assert recompute_everyone().stale_rows == 0

    def test_a_full_recompute_never_puts_its_older_list_over_a_newer_one(self, town, monkeypatch):
        """A per-person recompute starts and finishes while a full one is computing: the full one
        writes last, but its list was computed from older signals and must not win."""
        viewer = town["viewer"]
        recompute_everyone()
        assert ChannelSuggestion.objects.filter(user=viewer, channel=town["walks"]).exists()
        full_compute = recompute_module.engine.recommend_all
        person_done: dict[str, Any] = {}

        def meanwhile(**kwargs):
            result = full_compute(**kwargs)  # the full run's list still suggests Night walks
            channel_join(user=viewer, channel=town["walks"])
            recompute_person(viewer)
            person_done["rows"] = list(
                ChannelSuggestion.objects.filter(user=viewer).values_list("channel_id", "rank", "reason")
            )
            person_done["at"] = RecommendationPrefs.objects.get(user=viewer).computed_at
            return result

        monkeypatch.setattr(recompute_module.engine, "recommend_all", meanwhile)
        recompute_everyone()
        rows = list(ChannelSuggestion.objects.filter(user=viewer).values_list("channel_id", "rank", "reason"))
        assert rows == person_done["rows"]
        assert town["walks"].pk not in {channel for channel, _rank, _reason in rows}
        assert RecommendationPrefs.objects.get(user=viewer).computed_at == person_done["at"]
        other = town["tell_tale"][0]  # everyone else got the full run's list
        assert RecommendationPrefs.objects.get(user=other).computed_at > person_done["at"] - timedelta(minutes=1)

    def test_an_older_computation_is_refused_and_a_newer_one_written(self, town):
        viewer = town["viewer"]
        recompute_everyone()
        stored_at = RecommendationPrefs.objects.get(user=viewer).computed_at
        assert stored_at is not None
        before = list(ChannelSuggestion.objects.filter(user=viewer).values_list("channel_id", "reason"))
        stale = [engine.Suggestion(channel=town["knitting"].pk, score=9.0, reason=engine.POPULAR, via=None)]
        assert recompute_module._store({viewer.pk: stale}, now=stored_at - timedelta(seconds=1)) == 0
        assert list(ChannelSuggestion.objects.filter(user=viewer).values_list("channel_id", "reason")) == before
        assert recompute_module._store({viewer.pk: stale}, now=stored_at + timedelta(seconds=1)) == 1
        assert list(ChannelSuggestion.objects.filter(user=viewer).values_list("channel_id", "reason")) == [
            (town["knitting"].pk, "popular")
        ]

    def test_someone_who_switched_off_meanwhile_gets_no_rows(self, town):
        viewer = town["viewer"]
        recompute_everyone()
        services.prefs_update(user=viewer, personalised=False)
        fresh = [engine.Suggestion(channel=town["walks"].pk, score=1.0, reason=engine.JOINED, via=None)]
        recompute_module._store({viewer.pk: fresh}, now=timezone.now())
        assert not ChannelSuggestion.objects.filter(user=viewer).exists()

    def test_an_unchanged_list_is_not_rewritten_and_a_changed_one_is(self, town):
        viewer = town["viewer"]
        first = recompute_everyone()
        assert first.suggestion_rows == ChannelSuggestion.objects.count() > 0
        assert recompute_everyone().suggestion_rows == 0  # same signals: nothing written
        ChannelSuggestion.objects.filter(user=viewer).delete()  # rows lost: the digest no longer tells the truth…
        RecommendationPrefs.objects.filter(user=viewer).update(listed="")  # …as every writer that deletes records
        again = recompute_everyone()
        assert again.suggestion_rows == ChannelSuggestion.objects.filter(user=viewer).count() > 0
        channel_join(user=viewer, channel=town["walks"])  # Night walks leaves the viewer's list
        changed = recompute_everyone()
        assert changed.suggestion_rows == ChannelSuggestion.objects.filter(user=viewer).count()
        assert not ChannelSuggestion.objects.filter(user=viewer, channel=town["walks"]).exists()


@pytest.mark.django_db(transaction=True)
def test_two_full_recomputes_at_once_both_finish_with_one_graph(town, monkeypatch):
    """Ensure that two full recomputes that reach the write together (a schedule overlapping a slow run)
    take turns on the channel graph instead of one failing on the other's keys."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers; the PostgreSQL run exercises two writers at once")
    recompute_everyone()
    single = sorted(ChannelNeighbour.objects.values_list("channel_id", "neighbour_id"))
    assert single
    compute = recompute_module.engine.recommend_all
    both_computed = threading.Barrier(2, timeout=30)

    def computed_together(**kwargs):
        result = compute(**kwargs)
        both_computed.wait()
        return result

    monkeypatch.setattr(recompute_module.engine, "recommend_all", computed_together)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            recompute_everyone()
        except BaseException as error:  # noqa: BLE001  (reported by the test)
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(ChannelNeighbour.objects.values_list("channel_id", "neighbour_id")) == single
