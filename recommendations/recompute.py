"""The database side of the recompute: read signals into the engine's plain data, write its results.

A full recompute (`recompute_everyone`) rebuilds the channel graph and every personalised
person's suggestions; `recompute_person` redoes one person's from the stored graph, in a few
queries, after they joined or pressed *same* enough.
"""

import math
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.models import User
from interests.models import Channel, Membership
from posts.models import Ballot, Same
from punches.models import Punch

from . import engine
from .models import ChannelNeighbour, ChannelSuggestion, NotInterested, RecommendationPrefs, RecomputeRun

STORED = 30  # suggestions kept per person; a page shows 10, dismissals eat into the rest
CHUNK = 10_000
# A full recompute is due once the per-person ones saw this share of the last run's signals anew.
FULL_AFTER_SHARE = 0.1
FULL_AFTER_MIN = 200


def _events(**where: object) -> Iterator[tuple[int, int, str]]:
    memberships = Membership.objects.filter(**where).values_list("user_id", "channel_id")
    sames = Same.objects.filter(**where).values_list("user_id", "post__channel_id")
    ballots = Ballot.objects.filter(**where).values_list("user_id", "poll__post__channel_id")
    punches = Punch.objects.filter(**where).values_list("user_id", "channel_id")
    for rows, kind in (
        (memberships, engine.JOIN),
        (sames, engine.SAME),
        (ballots, engine.VOTE),
        (punches, engine.PUNCH),
    ):
        for person, channel in rows.iterator(chunk_size=CHUNK):
            yield person, channel, kind


def _dislikes(**where: object) -> dict[int, set[int]]:
    found: dict[int, set[int]] = defaultdict(set)
    rows = NotInterested.objects.filter(**where).values_list("user_id", "channel_id", "post__channel_id")
    for person, channel, post_channel in rows.iterator(chunk_size=CHUNK):
        found[person].add(channel or post_channel)
    return found


def _facts(now: datetime) -> tuple[list[engine.ChannelFacts], dict[int, str], set[int]]:
    facts: list[engine.ChannelFacts] = []
    texts: dict[int, str] = {}
    closed: set[int] = set()
    rows = Channel.objects.values_list(
        "id", "category", "member_count", "created_at", "last_post_at", "is_closed", "name", "description", "rule"
    )
    for pk, category, members, created, last_post, is_closed, name, description, rule in rows.iterator(
        chunk_size=CHUNK
    ):
        facts.append(
            engine.ChannelFacts(
                id=pk,
                category=category,
                members=members,
                age_days=(now - created).total_seconds() / 86400,
                idle_days=(now - last_post).total_seconds() / 86400,
            )
        )
        texts[pk] = f"{name}\n{description}\n{rule}"
        if is_closed:
            closed.add(pk)
    return facts, texts, closed


@dataclass(frozen=True)
class RunStats:
    people: int
    channels: int
    signals: int
    neighbour_rows: int
    suggestion_rows: int
    seconds: float


def recompute_everyone() -> RunStats:
    started = time.perf_counter()
    now = timezone.now()
    run = RecomputeRun.objects.create(started_at=now)
    events = list(_events())
    profiles, joined = engine.build_profiles(events)
    facts, texts, closed = _facts(now)
    switched_off = set(RecommendationPrefs.objects.filter(personalised=False).values_list("user_id", flat=True))
    people = [person for person in profiles if person not in switched_off]
    neighbours, suggestions = engine.recommend_all(
        profiles=profiles,
        joined=joined,
        channels=facts,
        closed=closed,
        texts=texts,
        dislikes=_dislikes(),
        size=STORED,
        people=people,
        with_fallback=False,
    )
    with transaction.atomic():
        ChannelNeighbour.objects.all().delete()
        ChannelNeighbour.objects.bulk_create(
            (
                ChannelNeighbour(channel_id=channel, neighbour_id=other, score=score)
                for channel, links in neighbours.items()
                for other, score in links.items()
            ),
            batch_size=CHUNK,
        )
    rows = _store(suggestions, now=now)
    seconds = time.perf_counter() - started
    RecomputeRun.objects.filter(pk=run.pk).update(
        finished_at=timezone.now(), people=len(people), channels=len(facts), signals=len(events), seconds=seconds
    )
    return RunStats(
        people=len(people),
        channels=len(facts),
        signals=len(events),
        neighbour_rows=sum(len(links) for links in neighbours.values()),
        suggestion_rows=rows,
        seconds=seconds,
    )


def _store(suggestions: dict[int, list[engine.Suggestion]], *, now: datetime) -> int:
    """Replace each person's rows, a batch of people per transaction."""
    people = list(suggestions)
    written = 0
    for start in range(0, len(people), 1000):
        batch = people[start : start + 1000]
        rows = [
            ChannelSuggestion(
                user_id=person, channel_id=s.channel, rank=rank, score=s.score, reason=s.reason, via_id=s.via
            )
            for person in batch
            for rank, s in enumerate(suggestions[person])
        ]
        with transaction.atomic():
            ChannelSuggestion.objects.filter(user_id__in=batch).delete()
            ChannelSuggestion.objects.bulk_create(rows, batch_size=CHUNK)
            RecommendationPrefs.objects.bulk_create(
                [RecommendationPrefs(user_id=person, computed_at=now) for person in batch],
                update_conflicts=True,
                unique_fields=["user"],
                update_fields=["computed_at", "queued_at"],
            )
        written += len(rows)
    return written


def recompute_person(user: User) -> int:
    """One person's suggestions from the stored graph; returns how many signals were new to it."""
    now = timezone.now()
    prefs, _created = RecommendationPrefs.objects.get_or_create(user=user)
    if not prefs.personalised:
        ChannelSuggestion.objects.filter(user=user).delete()
        RecommendationPrefs.objects.filter(user=user).update(computed_at=now, queued_at=None)
        return 0
    events = list(_events(user=user))
    profiles, joined = engine.build_profiles(events)
    profile = profiles.get(user.pk, {})
    dislikes = _dislikes(user=user).get(user.pk, set())
    neighbours: engine.Neighbours = defaultdict(dict)
    for channel, other, score in ChannelNeighbour.objects.filter(channel_id__in=set(profile) | dislikes).values_list(
        "channel_id", "neighbour_id", "score"
    ):
        neighbours[channel][other] = score
    if not neighbours:
        # Channels the full recompute has not seen yet: link them by their words, to whatever
        # channels share them. Bounded: one person's handful of channels against the rest.
        neighbours.update(_content_links(set(profile)))
    candidates = {other for links in neighbours.values() for other in links}
    top = Channel.objects.aggregate(top=Max("member_count"))["top"] or 0
    scale = math.log1p(top) or 1.0
    prior: dict[int, float] = {}
    category_of: dict[int, str] = {}
    closed: set[int] = set()
    for pk, members, category, is_closed in Channel.objects.filter(pk__in=candidates).values_list(
        "id", "member_count", "category", "is_closed"
    ):
        prior[pk] = math.log1p(members) / scale
        category_of[pk] = category
        if is_closed:
            closed.add(pk)
    closed |= candidates - category_of.keys()
    suggestions = engine.recommend(
        profile=profile,
        joined=joined.get(user.pk, set()),
        exclude=closed | dislikes,
        neighbours=neighbours,
        prior=prior,
        category_of=category_of,
        dislikes=dislikes,
        size=STORED,
    )
    new_signals = _signals_since(user, prefs.computed_at)
    _store({user.pk: suggestions}, now=now)
    return new_signals


def _content_links(channels: set[int]) -> engine.Neighbours:
    texts = {
        pk: f"{name}\n{description}\n{rule}"
        for pk, name, description, rule in Channel.objects.filter(is_closed=False).values_list(
            "id", "name", "description", "rule"
        )[:5000]
    }
    for pk, name, description, rule in Channel.objects.filter(pk__in=channels).values_list(
        "id", "name", "description", "rule"
    ):
        texts[pk] = f"{name}\n{description}\n{rule}"
    links = engine.content_neighbours(texts)
    return {channel: links[channel] for channel in channels if channel in links}


def _signals_since(user: User, since: datetime | None) -> int:
    if since is None:
        return Membership.objects.filter(user=user).count() + Same.objects.filter(user=user).count()
    return (
        Membership.objects.filter(user=user, joined_at__gt=since).count()
        + Same.objects.filter(user=user, created_at__gt=since).count()
    )


def note_signals(count: int) -> bool:
    """Add to the latest full run's tally; True when the next full recompute is due."""
    run = RecomputeRun.objects.order_by("-started_at").first()
    if run is None:
        return True
    RecomputeRun.objects.filter(pk=run.pk).update(signals_since=F("signals_since") + count)
    threshold = max(FULL_AFTER_MIN, int(run.signals * FULL_AFTER_SHARE))
    return run.finished_at is not None and run.signals_since + count >= threshold
