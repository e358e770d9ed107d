"""The database side of the recompute: read signals into the engine's plain data, write its results.

A full recompute (`recompute_everyone`) rebuilds the channel graph and every personalised
person's suggestions; `recompute_person` redoes one person's from the stored graph, in a few
queries, after they joined or pressed *same* enough.
"""

import hashlib
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F, Max, Model, Q
from django.utils import timezone

from accounts.models import User
from interests.models import Channel, Membership
from posts.models import Ballot, Same
from punches.models import Punch

from . import engine
from .models import ChannelNeighbour, ChannelSuggestion, NotInterested, RecommendationPrefs, RecomputeRun

STORED = 20  # suggestions kept per person; a page shows 10, dismissals eat into the rest
CHUNK = 10_000
STORE_BATCH = 2000
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
    stale_rows: int
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
        _relaxed_commit()
        if connection.vendor == "postgresql":
            # Two full recomputes at once (a schedule overlapping a slow run) would each delete the graph
            # and insert theirs, and the second insert would hit the first's keys: one writes at a time.
            # (SQLite serialises writers by itself.)
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE recommendations_channelneighbour IN EXCLUSIVE MODE")
        ChannelNeighbour.objects.all().delete()
        _insert(
            ChannelNeighbour,
            ["channel_id", "neighbour_id", "score"],
            ((channel, other, score) for channel, links in neighbours.items() for other, score in links.items()),
        )
    rows = _store(suggestions, now=now)
    dropped = _drop_stale(set(suggestions), now=now)
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
        stale_rows=dropped,
        seconds=seconds,
    )


def _insert(model: type[Model], column_names: list[str], rows: Iterable[tuple[int | float | str | None, ...]]) -> None:
    """Many rows at once, without building a model instance for each: COPY on PostgreSQL, one
    executemany elsewhere. A full recompute writes millions of suggestion rows."""
    table = model._meta.db_table
    columns = ", ".join(connection.ops.quote_name(column) for column in column_names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                # COPY's text format, built here in bulk: psycopg's write_row per row costs more
                # than the database's work. The values are numbers and choice codes (no tabs,
                # backslashes or newlines); None is \N.
                copy.write("".join("\t".join(_copy_text(v) for v in row) + "\n" for row in rows))
        else:
            marks = ", ".join(["%s"] * len(column_names))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(rows))  # noqa: S608  (names from the model, values as parameters)


def _relaxed_commit() -> None:
    """Derived rows, recomputable at will: on PostgreSQL their commits need not wait for the WAL to
    reach the disk (a crash loses at most the last moments of a recompute, never consistency)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def _copy_text(value: int | float | str | None) -> str:
    return "\\N" if value is None else str(value)


def _store(suggestions: dict[int, list[engine.Suggestion]], *, now: datetime) -> int:
    """Replace the rows of each person whose list changed (channels, order or reasons; a score
    alone is not worth a write), a batch of people per transaction: readers see the old list or
    the new one, never none. Returns the rows written.

    `now` is when this computation started reading signals: its generation. A person's rows are
    written only if what is stored is older (`computed_at` < `now`), checked under a lock on their
    settings row — so a full recompute that started before a per-person one finished can never
    put its older list over the newer one, whichever commits last. Someone who switched
    personalisation off meanwhile gets no rows."""
    people = list(suggestions)
    written = 0
    for start in range(0, len(people), STORE_BATCH):
        batch = people[start : start + STORE_BATCH]
        with transaction.atomic():
            _relaxed_commit()
            RecommendationPrefs.objects.bulk_create(
                [RecommendationPrefs(user_id=person) for person in batch], ignore_conflicts=True
            )
            claimed = {
                person: (personalised, listed)
                for person, personalised, listed in RecommendationPrefs.objects.select_for_update()
                .filter(user_id__in=batch)
                .filter(Q(computed_at__isnull=True) | Q(computed_at__lt=now))
                .values_list("user_id", "personalised", "listed")
            }
            wanted = {
                person: suggestions[person] if claimed[person][0] else [] for person in batch if person in claimed
            }
            digests = {person: _digest(fresh) for person, fresh in wanted.items()}
            changed = [person for person in wanted if digests[person] != claimed[person][1]]
            rows = [
                (person, s.channel, rank, s.score, s.reason, s.via)
                for person in changed
                for rank, s in enumerate(wanted[person])
            ]
            if changed:
                ChannelSuggestion.objects.filter(user_id__in=changed).delete()
                _insert(ChannelSuggestion, ["user_id", "channel_id", "rank", "score", "reason", "via_id"], rows)
            RecommendationPrefs.objects.filter(user_id__in=wanted.keys() - set(changed)).update(
                computed_at=now, queued_at=None
            )
            if changed:
                _mark_listed([(now, digests[person], person) for person in changed])
        written += len(rows)
    return written


def _mark_listed(rows: list[tuple[datetime, str, int]]) -> None:
    """computed_at, and the digest of the list just written, for each changed person: one
    statement for the batch on PostgreSQL (a round trip per person cost minutes on a busy machine;
    bulk_update's CASE per row, seconds of planning); one statement many times elsewhere."""
    table = RecommendationPrefs._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"UPDATE {table} SET computed_at = %s, queued_at = NULL, listed = v.listed "  # noqa: S608  (the model's table)
                f"FROM unnest(%s::bigint[], %s::text[]) AS v(user_id, listed) WHERE {table}.user_id = v.user_id",
                [rows[0][0], [person for _now, _listed, person in rows], [listed for _now, listed, _person in rows]],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET computed_at = %s, queued_at = NULL, listed = %s WHERE user_id = %s",  # noqa: S608  (the model's table)
                rows,
            )


def _digest(suggestions: list[engine.Suggestion]) -> str:
    """What a person's stored list is, in 32 characters: channels, order and reasons (not scores)."""
    if not suggestions:
        return ""
    text = ";".join(f"{s.channel},{s.reason},{s.via}" for s in suggestions)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _drop_stale(people: set[int], *, now: datetime) -> int:
    """Delete the suggestions of people the full recompute computed nothing for (no signals any
    more, personalisation off, or gone): unless a per-person recompute wrote them after `now`."""
    stale = sorted(set(ChannelSuggestion.objects.values_list("user_id", flat=True).distinct()) - people)
    dropped = 0
    for start in range(0, len(stale), STORE_BATCH):
        batch = stale[start : start + STORE_BATCH]
        with transaction.atomic():
            newer = RecommendationPrefs.objects.select_for_update().filter(user_id__in=batch, computed_at__gte=now)
            fresh = set(newer.values_list("user_id", flat=True))
            gone = [person for person in batch if person not in fresh]
            dropped += ChannelSuggestion.objects.filter(user_id__in=gone).delete()[0]
            RecommendationPrefs.objects.filter(user_id__in=gone).update(listed="")
    return dropped


def recompute_person(user: User) -> int:
    """One person's suggestions from the stored graph; returns how many signals were new to it."""
    now = timezone.now()
    prefs, _created = RecommendationPrefs.objects.get_or_create(user=user)
    if not prefs.personalised:
        ChannelSuggestion.objects.filter(user=user).delete()
        RecommendationPrefs.objects.filter(user=user).update(computed_at=now, queued_at=None, listed="")
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
