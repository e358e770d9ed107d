"""Reads: "Channels for you" and Discover, from precomputed rows — a few indexed queries a request.

Whoever has no precomputed rows (a newcomer, someone who switched personalisation off, a fresh
install before the first recompute) gets the starter list, computed here from at most a few
hundred channels: popular, active-small and new, across categories. Never an empty page.
"""

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ServiceError
from core.pagination import Page
from interests.categories import CATEGORIES
from interests.models import Channel, Membership
from moderation.models import Block
from posts.models import Post
from posts.selectors import decorate_posts, visible_posts

from . import engine
from .models import ChannelSuggestion, NotInterested, Reason, RecommendationPrefs

CHANNELS_SHOWN = 10
STARTER_POOL = 300  # the most active channels the starter list is drawn from (plus new and big ones)
POSTS_PAGE = 20
POSTS_RANKED = 60  # Discover is a short, ranked list, not an endless feed
POST_CHANNELS = 30
POST_MAX_AGE = timedelta(days=30)
POSTS_PER_CHANNEL = 2  # per page: varied, never ten posts of one channel
# Read per channel: its newest. A week-older post needs e^(168/96) ≈ 6× the *same* boost to
# outrank a fresh one, so the newest few hold every post the ranked list would take.
POSTS_PER_CHANNEL_READ = 8


@dataclass(frozen=True)
class Why:
    """A one-line reason. `via` is one of the viewer's own channels, or None."""

    kind: str
    via: Channel | None
    category: str

    @property
    def text(self) -> str:
        category = str(CATEGORIES.get(self.category, self.category))
        if self.kind == Reason.JOINED and self.via is not None:
            return _("Because you joined %(channel)s") % {"channel": self.via.name}
        if self.kind == Reason.FELT_SAME and self.via is not None:
            return _("Because you felt the same about posts in %(channel)s") % {"channel": self.via.name}
        if self.kind == Reason.NEW:
            return _("New in %(category)s") % {"category": category}
        if self.kind == Reason.ACTIVE:
            return _("Active in %(category)s") % {"category": category}
        return _("Popular in %(category)s") % {"category": category}


@dataclass(frozen=True)
class ChannelPick:
    channel: Channel
    why: Why


@dataclass(frozen=True)
class PostPick:
    post: Post
    why: Why


def prefs_get(*, user: User) -> RecommendationPrefs:
    """The person's settings (an unsaved default row when they never changed anything)."""
    return RecommendationPrefs.objects.filter(user=user).first() or RecommendationPrefs(user=user)


def _unwanted(viewer: User, field: str = "pk") -> Q:
    """Channels already joined or dismissed, as conditions on `field` (the channel's key)."""
    joined = Membership.objects.filter(user=viewer, channel=OuterRef(field))
    dismissed = NotInterested.objects.filter(user=viewer, channel=OuterRef(field))
    return Q(Exists(joined)) | Q(Exists(dismissed))


def _channels() -> QuerySet[Channel]:
    return Channel.objects.filter(is_closed=False).select_related("host")


def _starter_pool() -> RawSQL:
    """The ids the starter list is drawn from — the most active, newest and biggest open channels —
    as one subquery: a UNION of three index-ordered LIMITs. (Three `pk IN (…)` conditions joined by
    OR made PostgreSQL test every channel against them: 46 ms at 10k channels, against ~1 ms.)"""
    table = Channel._meta.db_table
    parts = [
        f"SELECT id FROM (SELECT id FROM {table} WHERE NOT is_closed ORDER BY {order} DESC LIMIT {limit}) AS {alias}"  # noqa: S608  (names and numbers from here)
        for order, limit, alias in (
            ("last_post_at", STARTER_POOL, "active"),
            ("created_at", 60, "newest"),
            ("member_count", 100, "biggest"),
        )
    ]
    return RawSQL(" UNION ".join(parts), [])  # noqa: S611  (no value from outside)


def starter_picks(*, viewer: User, size: int = CHANNELS_SHOWN, skip: frozenset[int] = frozenset()) -> list[ChannelPick]:
    """Popular and new across categories, small channels included; two queries: the pool's facts (a few
    numbers per channel, up to ~460 channels), then the chosen channels with their hosts."""
    pool = (
        Channel.objects.filter(is_closed=False, pk__in=_starter_pool())
        .exclude(_unwanted(viewer))
        .exclude(pk__in=skip)
        .values_list("pk", "category", "member_count", "created_at", "last_post_at")
    )
    now = timezone.now()
    facts = [
        engine.ChannelFacts(
            id=pk,
            category=category,
            members=members,
            age_days=(now - created_at).total_seconds() / 86400,
            idle_days=(now - last_post_at).total_seconds() / 86400,
        )
        for pk, category, members, created_at, last_post_at in pool
    ]
    chosen = engine.starter(facts, size=size)
    channels = _channels().in_bulk([s.channel for s in chosen])
    return [
        ChannelPick(
            channel=channels[s.channel], why=Why(kind=s.reason, via=None, category=channels[s.channel].category)
        )
        for s in chosen
        if s.channel in channels  # closed in between: left out
    ]


def channel_picks(
    *, viewer: User, size: int = CHANNELS_SHOWN, prefs: RecommendationPrefs | None = None
) -> list[ChannelPick]:
    """ "Channels for you": precomputed rows, minus what was joined or dismissed since; the
    starter list fills the rest. Joined channels never appear."""
    prefs = prefs or prefs_get(user=viewer)
    picks: list[ChannelPick] = []
    if prefs.personalised and prefs.computed_at is not None:
        rows = (
            ChannelSuggestion.objects.filter(user=viewer, channel__is_closed=False)
            .exclude(_unwanted(viewer, "channel"))
            .select_related("channel", "channel__host", "via")
            .order_by("rank")[:size]
        )
        picks = [
            ChannelPick(channel=r.channel, why=Why(kind=r.reason, via=r.via, category=r.channel.category)) for r in rows
        ]
    if len(picks) < size:
        taken = frozenset(p.channel.pk for p in picks)
        picks += starter_picks(viewer=viewer, size=size - len(picks), skip=taken)
    return picks


def post_picks(*, viewer: User, cursor: str | None = None, prefs: RecommendationPrefs | None = None) -> Page[PostPick]:
    """Discover: recent posts of channels the person has not joined, from the channels suggested to
    them, ranked by the channel's place, freshness and how many felt the same; at most two of one
    channel per page. The cursor is the place in that ranked list."""
    start = _offset(cursor)
    channels = channel_picks(viewer=viewer, size=POST_CHANNELS, prefs=prefs)
    place = {pick.channel.pk: index for index, pick in enumerate(channels)}
    why = {pick.channel.pk: pick.why for pick in channels}
    now = timezone.now()
    candidates = _recent_posts(viewer=viewer, channel_ids=list(place), since=now - POST_MAX_AGE)

    def score(post: Candidate) -> float:
        hours = (now - post.created_at).total_seconds() / 3600
        return (
            (1 / (1 + 0.1 * place[post.channel_id])) * math.exp(-hours / 96) * (1 + 0.3 * math.log1p(post.same_count))
        )

    ranked = _spread(sorted(candidates, key=score, reverse=True))[:POSTS_RANKED]
    chosen = [c.pk for c in ranked[start : start + POSTS_PAGE]]
    cards = {post.pk: post for post in visible_posts(viewer).filter(pk__in=chosen)}
    items = [cards[pk] for pk in chosen if pk in cards]
    decorate_posts(items, viewer)
    following = start + POSTS_PAGE
    return Page(
        items=[PostPick(post=p, why=why[p.channel_id]) for p in items],
        next=str(following) if following < len(ranked) else None,
    )


@dataclass(frozen=True)
class Candidate:
    """What ranking a post needs, before its card is fetched."""

    pk: int
    channel_id: int
    created_at: datetime
    same_count: int


def _recent_posts(*, viewer: User, channel_ids: list[int], since: datetime) -> list[Candidate]:
    """The newest live posts of each channel (at most POSTS_PER_CHANNEL_READ each), never the
    viewer's own, a blocked author's or a dismissed post: one query. On PostgreSQL a LATERAL join
    reads each channel's newest posts straight from the (channel, -created_at) index and stops at
    the limit, however busy the channel; elsewhere a window function over the same rows."""
    if not channel_ids:
        return []
    blocked = Block.objects.filter(blocker=viewer, blocked=OuterRef("author"))
    dismissed = NotInterested.objects.filter(user=viewer, post=OuterRef("pk"))
    if connection.vendor == "postgresql":
        post, block, dismissal = (m._meta.db_table for m in (Post, Block, NotInterested))
        sql = f"""
            SELECT p.id, p.channel_id, p.created_at, p.same_count
            FROM unnest(%s::bigint[]) AS c(id)
            CROSS JOIN LATERAL (
                SELECT id, channel_id, created_at, same_count FROM {post}
                WHERE channel_id = c.id AND removed_at IS NULL AND created_at >= %s AND author_id <> %s
                  AND NOT EXISTS (SELECT 1 FROM {block} b WHERE b.blocker_id = %s AND b.blocked_id = {post}.author_id)
                  AND NOT EXISTS (SELECT 1 FROM {dismissal} n WHERE n.user_id = %s AND n.post_id = {post}.id)
                ORDER BY created_at DESC
                LIMIT %s
            ) p"""  # noqa: S608  (table names from the models; every value is a parameter)
        with connection.cursor() as cursor:
            cursor.execute(sql, [channel_ids, since, viewer.pk, viewer.pk, viewer.pk, POSTS_PER_CHANNEL_READ])
            return [Candidate(*row) for row in cursor.fetchall()]
    rows = (
        Post.objects.filter(channel_id__in=channel_ids, removed_at__isnull=True, created_at__gte=since)
        .exclude(author=viewer)
        .exclude(Exists(blocked))
        .exclude(Exists(dismissed))
        .annotate(newest=Window(RowNumber(), partition_by=F("channel_id"), order_by=F("created_at").desc()))
        .filter(newest__lte=POSTS_PER_CHANNEL_READ)
        .values_list("pk", "channel_id", "created_at", "same_count")
    )
    return [Candidate(*row) for row in rows]


def _spread(ranked: list[Candidate]) -> list[Candidate]:
    """Keep the order, but give each page at most POSTS_PER_CHANNEL posts of one channel (unless
    too few channels are left to fill it)."""
    result: list[Candidate] = []
    pending = ranked
    while pending and len(result) < POSTS_RANKED:
        counts: Counter[int] = Counter()
        page: list[Candidate] = []
        rest: list[Candidate] = []
        for post in pending:
            if len(page) < POSTS_PAGE and counts[post.channel_id] < POSTS_PER_CHANNEL:
                counts[post.channel_id] += 1
                page.append(post)
            else:
                rest.append(post)
        if len(page) < POSTS_PAGE:
            fill = rest[: POSTS_PAGE - len(page)]
            page += fill
            rest = rest[len(fill) :]
        result += page
        pending = rest
    return result


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    if not cursor.isdigit() or int(cursor) >= POSTS_RANKED:
        raise ServiceError(
            "invalid_cursor", _("This page link is not valid; start from the first page."), field="cursor"
        )
    return int(cursor)
