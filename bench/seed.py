"""Fill a database with a large, realistic dataset for the benchmarks in bench/run.py.

Usage (from the repository root; the environment picks the database exactly as the app does):

    SAME_VAR_DIR=/tmp/same-bench-pg DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \
        .venv/bin/python bench/seed.py --reset

It migrates, then bulk-inserts people, channels of every kind and category, memberships, posts
(skewed: a few big channels, many small ones, over the last 90 days) and *same* rows, sets the
denormalised counters with UPDATE … FROM aggregate queries, runs ANALYZE, and writes what
bench/run.py needs (a session cookie, a bearer token, channel ids) to bench/.bench-env.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import itertools
import json
import os
import random
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the app, and bench as a package
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import AccessToken, User  # noqa: E402
from accounts.usernames import username_key  # noqa: E402
from bench.benchlib import DEFAULT_ENV_FILE, out  # noqa: E402
from core.scale_data import recount_counters, tally_films  # noqa: E402
from core.seed_vocabulary import FILMS, POLLS, QUALIFIERS, SONGS, THEMES, WORDS, ZH_SENTENCES  # noqa: E402
from interests.categories import CATEGORIES  # noqa: E402
from interests.models import Channel, ChannelKind, Membership  # noqa: E402
from interests.names import channel_name_key  # noqa: E402
from posts.models import Movie, Poll, PollOption, Post, Same, Song  # noqa: E402
from posts.movies import movie_title_key  # noqa: E402

BENCH_PASSWORD = "bench-password-not-secret"  # noqa: S105  (a throwaway account in a throwaway database)

# Share of channels per kind. Bulk posts go to text channels; music, movie and vote channels get a
# small share of posts with their side rows (Song, Movie, Poll+options); image and punch channels
# get none (their posts need files or punches).
KIND_SHARES = (
    (ChannelKind.TEXT, 0.70),
    (ChannelKind.IMAGE, 0.08),
    (ChannelKind.MUSIC, 0.07),
    (ChannelKind.MOVIE, 0.05),
    (ChannelKind.VOTE, 0.05),
    (ChannelKind.PUNCH, 0.05),
)
RICH_KINDS = (ChannelKind.MUSIC, ChannelKind.MOVIE, ChannelKind.VOTE)


@dataclass
class Plan:
    people: int
    channels: int
    posts: int
    sames: int
    days: int
    viewer_joins: int
    rich_share: float
    batch: int
    seed: int


@dataclass
class Seeded:
    user_ids: list[int] = field(default_factory=list)
    channels: list[Channel] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)  # per channel, how much it is posted in
    timings: dict[str, float] = field(default_factory=dict)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--sames", type=int, default=2_000_000, help="target number of *same* rows (approximate)")
    parser.add_argument("--days", type=int, default=90, help="posts are spread over this many past days")
    parser.add_argument("--viewer-joins", type=int, default=30, help="channels the bench user joins")
    parser.add_argument("--rich-share", type=float, default=0.02, help="share of posts that are music/movie/vote")
    parser.add_argument("--batch", type=int, default=5_000, help="rows per INSERT")
    parser.add_argument("--seed", type=int, default=20261126, help="random seed (the dataset is reproducible)")
    parser.add_argument("--reset", action="store_true", help="empty every table first (manage.py flush)")
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE, help="where to write the run's secrets")
    return parser.parse_args(argv)


def chunks[T](items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def step(seeded: Seeded, name: str, started: float) -> None:
    took = time.perf_counter() - started
    seeded.timings[name] = took
    out(f"  {name:<28} {took:8.1f} s")


def sentence(rng: random.Random, low: int, high: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(low, high))
    return (" ".join(words)).capitalize() + rng.choice(".!?…")


def text_pool(rng: random.Random, size: int) -> list[str]:
    """Post texts: mostly English of varied length, some Chinese, a few with links."""
    pool = []
    for index in range(size):
        if index % 10 == 0:
            pool.append("".join(rng.choices(ZH_SENTENCES, k=rng.randint(1, 4))))
        else:
            parts = [sentence(rng, 3, 18) for _ in range(rng.randint(1, 4))]
            if index % 25 == 1:
                parts.append("https://example.com/" + rng.choice(WORDS))
            pool.append(" ".join(parts))
    return pool


def zipf_weights(count: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


def seed_people(plan: Plan, rng: random.Random, seeded: Seeded) -> None:
    started = time.perf_counter()
    password = make_password(BENCH_PASSWORD)  # one Argon2 hash, shared by everyone
    now = timezone.now()
    people = []
    for index in range(plan.people):
        name = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}_{index}"[:30]
        people.append(
            User(
                username=name,
                username_key=username_key(name),
                email=f"{name}@bench.invalid",
                email_verified=True,
                password=password,
                date_joined=now - timedelta(days=rng.uniform(plan.days, plan.days * 4)),
            )
        )
    for extra in ("bench", "bench_quiet"):
        people.append(
            User(
                username=extra,
                username_key=username_key(extra),
                email=f"{extra}@bench.invalid",
                email_verified=True,
                password=password,
                date_joined=now - timedelta(days=plan.days * 4),
            )
        )
    with transaction.atomic():
        created = User.objects.bulk_create(people, batch_size=plan.batch)
    seeded.user_ids = [user.pk for user in created[: plan.people]]
    step(seeded, f"people ({len(created)})", started)


def seed_channels(plan: Plan, rng: random.Random, seeded: Seeded) -> None:
    started = time.perf_counter()
    now = timezone.now()
    names: set[str] = set()
    kinds = [kind for kind, share in KIND_SHARES for _ in range(max(1, round(share * plan.channels)))]
    rng.shuffle(kinds)
    kinds = (kinds * (plan.channels // len(kinds) + 1))[: plan.channels]
    categories = list(CATEGORIES)
    channels = []
    for kind in kinds:
        for attempt in itertools.count():
            theme = rng.choice(THEMES)
            name = f"{theme} {rng.choice(QUALIFIERS)}" if attempt < 5 else f"{theme} {rng.randint(2, 99_999)}"
            name = name[:40]
            if channel_name_key(name) not in names:
                break
        names.add(channel_name_key(name))
        created_at = now - timedelta(days=rng.uniform(plan.days, plan.days * 4))
        channels.append(
            Channel(
                name=name,
                name_key=channel_name_key(name),
                description=sentence(rng, 6, 20) if rng.random() < 0.85 else "",
                rule=sentence(rng, 3, 8),
                kind=kind,
                category=rng.choice(categories),
                host_id=rng.choice(seeded.user_ids),
                created_at=created_at,
                last_post_at=created_at,
            )
        )
    with transaction.atomic():
        seeded.channels = Channel.objects.bulk_create(channels, batch_size=plan.batch)
    # Popularity: a Zipf law over the channels that take posts, in random order.
    postable = [c for c in seeded.channels if c.kind == ChannelKind.TEXT or c.kind in RICH_KINDS]
    order = zipf_weights(len(postable), 1.1)
    rng.shuffle(postable)
    by_id = {c.pk: w for c, w in zip(postable, order, strict=True)}
    seeded.weights = [by_id.get(c.pk, 0.0) for c in seeded.channels]
    step(seeded, f"channels ({len(channels)})", started)


def seed_memberships(plan: Plan, rng: random.Random, seeded: Seeded, viewer: User, quiet: User) -> None:
    """Hosts are members; people join a skewed handful; the bench user joins the biggest and others."""
    started = time.perf_counter()
    pairs: set[tuple[int, int]] = {(c.pk, c.host_id) for c in seeded.channels if c.host_id is not None}
    # Every channel is joinable; popular ones are joined more. Add a floor so image/punch channels have members.
    join_weights = [w + 0.002 for w in seeded.weights]
    for user_id in seeded.user_ids:
        for channel in rng.choices(seeded.channels, weights=join_weights, k=min(int(rng.expovariate(1 / 12)) + 1, 60)):
            pairs.add((channel.pk, user_id))
    postable = sorted(
        (i for i, w in enumerate(seeded.weights) if w > 0 and seeded.channels[i].kind == ChannelKind.TEXT),
        key=lambda i: -seeded.weights[i],
    )
    biggest = postable[0]
    picked = {biggest}
    candidates = [i for i, w in enumerate(seeded.weights) if w > 0]
    while len(picked) < min(plan.viewer_joins, len(candidates)):
        picked.add(rng.choices(candidates, weights=[seeded.weights[i] ** 0.5 for i in candidates])[0])
    for index in picked:
        pairs.add((seeded.channels[index].pk, viewer.pk))
    # The quiet viewer joined five small text channels only: a sparse home feed.
    for index in postable[-40:-35]:
        pairs.add((seeded.channels[index].pk, quiet.pk))
    now = timezone.now()
    rows = [
        Membership(channel_id=channel_id, user_id=user_id, joined_at=now - timedelta(days=rng.uniform(0, plan.days)))
        for channel_id, user_id in sorted(pairs)
    ]
    with transaction.atomic():
        Membership.objects.bulk_create(rows, batch_size=plan.batch)
    step(seeded, f"memberships ({len(rows)})", started)


def _same_counts(plan: Plan, rng: random.Random) -> list[int]:
    """How many people press *same* on each post: heavy-tailed, summing to about plan.sames."""
    draws = [rng.paretovariate(1.4) - 1.0 for _ in range(plan.posts)]
    scale = plan.sames / max(sum(draws), 1.0)
    cap = plan.people  # everyone but the author (the bench user presses too)
    return [min(int(d * scale + rng.random()), cap) for d in draws]


def seed_posts(plan: Plan, rng: random.Random, seeded: Seeded, viewer: User) -> tuple[int, int]:
    """Posts in time order (as a real site fills its table), each batch followed by its *same* rows.

    Everyone presses *same*, the bench user too (about as often as anyone), never on their own post."""
    started = time.perf_counter()
    now = timezone.now()
    span = plan.days * 86_400.0
    offsets = sorted(rng.random() * span for _ in range(plan.posts))
    texts = text_pool(rng, 20_000)
    rich = [i for i, c in enumerate(seeded.channels) if c.kind in RICH_KINDS and seeded.weights[i] > 0]
    text_channels = [i for i, c in enumerate(seeded.channels) if c.kind == ChannelKind.TEXT and seeded.weights[i] > 0]
    text_cum = list(itertools.accumulate(seeded.weights[i] for i in text_channels))
    author_cum = list(itertools.accumulate(zipf_weights(len(seeded.user_ids), 0.8)))
    authors = seeded.user_ids[:]
    rng.shuffle(authors)
    same_counts = _same_counts(plan, rng)
    out(f"  (planned {sum(same_counts)} same rows)")
    pressers = [*seeded.user_ids, viewer.pk]
    author_index = {user_id: index for index, user_id in enumerate(pressers)}
    total_posts = total_sames = 0
    for batch_start in range(0, plan.posts, plan.batch):
        batch_offsets = offsets[batch_start : batch_start + plan.batch]
        batch_counts = same_counts[batch_start : batch_start + plan.batch]
        posts: list[Post] = []
        for offset, same_count in zip(batch_offsets, batch_counts, strict=True):
            if rich and rng.random() < plan.rich_share:
                channel = seeded.channels[rng.choice(rich)]
            else:
                pick = bisect.bisect_left(text_cum, rng.random() * text_cum[-1])
                channel = seeded.channels[text_channels[pick]]
            author = authors[bisect.bisect_left(author_cum, rng.random() * author_cum[-1])]
            created_at = now - timedelta(seconds=span - offset)
            posts.append(
                Post(
                    channel_id=channel.pk,
                    author_id=author,
                    kind=channel.kind,
                    text=texts[rng.randrange(len(texts))] if channel.kind != ChannelKind.VOTE else "",
                    same_count=same_count,  # the Same rows below match it (checked after the seed)
                    created_at=created_at,
                )
            )
        with transaction.atomic():
            posts = Post.objects.bulk_create(posts, batch_size=plan.batch)
            _side_rows(posts, rng)
            sames: list[Same] = []
            for post in posts:
                if post.same_count == 0:
                    continue
                own = author_index[post.author_id]
                chosen = rng.sample(range(len(pressers) - 1), post.same_count)
                # Never the author's own post (the service refuses that): skip over the author's index.
                limit = (now - post.created_at).total_seconds()
                for index in chosen:
                    user_id = pressers[index + 1 if index >= own else index]
                    delay = min(rng.expovariate(1 / 7200.0), limit)
                    sames.append(
                        Same(post_id=post.pk, user_id=user_id, created_at=post.created_at + timedelta(seconds=delay))
                    )
            Same.objects.bulk_create(sames, batch_size=plan.batch * 2)
        total_posts += len(posts)
        total_sames += len(sames)
        if batch_start // plan.batch % 20 == 0:
            rate = total_posts / (time.perf_counter() - started)
            out(f"    {total_posts:>9} posts, {total_sames:>9} sames  ({rate:,.0f} posts/s)")
    step(seeded, f"posts+sames ({total_posts}+{total_sames})", started)
    return total_posts, total_sames


def _side_rows(posts: list[Post], rng: random.Random) -> None:
    """The rows a music, movie or vote post cannot live without."""
    songs, movies, polls = [], [], []
    for post in posts:
        if post.kind == ChannelKind.MUSIC:
            title, artist = rng.choice(SONGS)
            songs.append(Song(post_id=post.pk, title=title, artist=artist))
        elif post.kind == ChannelKind.MOVIE:
            film, year = rng.choice(FILMS)
            movies.append(
                Movie(post_id=post.pk, title=film, title_key=movie_title_key(film), year=year, rating=rng.randint(1, 5))
            )
        elif post.kind == ChannelKind.VOTE:
            question, answers = rng.choice(POLLS)
            polls.append((Poll(post_id=post.pk, question=question), answers))
    Song.objects.bulk_create(songs)
    Movie.objects.bulk_create(movies)
    created = Poll.objects.bulk_create([poll for poll, _answers in polls])
    PollOption.objects.bulk_create(
        PollOption(poll_id=poll.pk, position=position, text=text)
        for poll, (_unused, answers) in zip(created, polls, strict=True)
        for position, text in enumerate(answers)
    )


def recount(*, same_count: bool) -> None:
    """Set the denormalised counters from the rows they count: one UPDATE … FROM per counter."""
    recount_counters()
    tally_films()
    if same_count:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE posts_post SET same_count = agg.n"
                " FROM (SELECT post_id, COUNT(*) AS n FROM posts_same GROUP BY post_id) AS agg"
                " WHERE posts_post.id = agg.post_id AND posts_post.same_count <> agg.n"
            )


def check_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(same_count), 0) FROM posts_post")
        same_sum = int(cursor.fetchone()[0])
        cursor.execute("SELECT COALESCE(SUM(post_count), 0), COALESCE(SUM(member_count), 0) FROM interests_channel")
        post_sum, member_sum = (int(v) for v in cursor.fetchone())
    counts = {
        "users": User.objects.count(),
        "channels": Channel.objects.count(),
        "memberships": Membership.objects.count(),
        "posts": Post.objects.count(),
        "sames": Same.objects.count(),
        "songs": Song.objects.count(),
        "movies": Movie.objects.count(),
        "polls": Poll.objects.count(),
    }
    problems = []
    if same_sum != counts["sames"]:
        problems.append(f"sum(same_count)={same_sum} but {counts['sames']} same rows")
    if post_sum != counts["posts"]:
        problems.append(f"sum(post_count)={post_sum} but {counts['posts']} posts")
    if member_sum != counts["memberships"]:
        problems.append(f"sum(member_count)={member_sum} but {counts['memberships']} memberships")
    if problems:
        raise SystemExit("counters are wrong: " + "; ".join(problems))
    return counts


def analyze() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE)")  # fresh statistics and visibility map, as a live site would have
        else:
            cursor.execute("ANALYZE")


def session_for(user: User) -> str:
    store = SessionStore()
    store["_auth_user_id"] = str(user.pk)
    store["_auth_user_backend"] = "accounts.backends.EmailOrUsernameBackend"
    store["_auth_user_hash"] = user.get_session_auth_hash()
    store.set_expiry(settings.SESSION_COOKIE_AGE)
    store.create()
    assert store.session_key is not None
    return store.session_key


def token_for(user: User) -> str:
    secret = "same_" + secrets.token_urlsafe(32)
    AccessToken.objects.create(user=user, digest=hashlib.sha256(secret.encode()).hexdigest(), name="bench")
    return secret


def write_env(
    path: Path, viewer: User, quiet: User, counts: dict[str, int], timings: dict[str, float]
) -> dict[str, Any]:
    joined = Channel.objects.filter(memberships__user=viewer)
    big = joined.filter(kind=ChannelKind.TEXT).order_by("-post_count").first()
    small = (
        Channel.objects.filter(kind=ChannelKind.TEXT, post_count__gte=20, post_count__lte=2000)
        .order_by("post_count", "public_id")
        .first()
    )
    if big is None or small is None:
        raise SystemExit("the dataset is too small: no big or no small text channel")
    env: dict[str, Any] = {
        "vendor": connection.vendor,
        "database_url": os.environ.get("DATABASE_URL", ""),
        "same_var_dir": str(settings.VAR_DIR),
        "seeded_at": timezone.now().isoformat(timespec="seconds"),
        "username": viewer.username,
        "password": BENCH_PASSWORD,
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
        "session": session_for(viewer),
        "quiet_username": quiet.username,
        "quiet_session": session_for(quiet),
        "token": token_for(viewer),
        "big_channel": big.public_id,
        "big_channel_posts": big.post_count,
        "small_channel": small.public_id,
        "small_channel_posts": small.post_count,
        "viewer_channels": joined.count(),
        "viewer_feed_posts": Post.objects.filter(channel__in=joined).count(),
        "search_word": "night",
        "counts": counts,
        "seed_seconds": {k: round(v, 1) for k, v in timings.items()},
    }
    path.write_text(json.dumps(env, indent=2) + "\n")
    path.chmod(0o600)
    return env


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    plan = Plan(
        people=args.people,
        channels=args.channels,
        posts=args.posts,
        sames=args.sames,
        days=args.days,
        viewer_joins=args.viewer_joins,
        rich_share=args.rich_share,
        batch=args.batch,
        seed=args.seed,
    )
    rng = random.Random(plan.seed)
    db = settings.DATABASES["default"]
    out(f"seeding {connection.vendor} {db.get('NAME')} with {plan}")
    total = time.perf_counter()
    seeded = Seeded()
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    step(seeded, "migrate", started)
    if args.reset:
        started = time.perf_counter()
        call_command("flush", interactive=False, verbosity=0)
        step(seeded, "flush", started)
    elif Post.objects.exists() or User.objects.filter(username="bench").exists():
        raise SystemExit("the database holds data already: pass --reset to empty it first")
    seed_people(plan, rng, seeded)
    viewer = User.objects.get(username="bench")
    quiet = User.objects.get(username="bench_quiet")
    seed_channels(plan, rng, seeded)
    seed_memberships(plan, rng, seeded, viewer, quiet)
    seed_posts(plan, rng, seeded, viewer)
    started = time.perf_counter()
    recount(same_count=False)
    step(seeded, "counters (UPDATE … FROM)", started)
    started = time.perf_counter()
    analyze()
    step(seeded, "vacuum/analyze", started)
    counts = check_counts()
    seeded.timings["total"] = time.perf_counter() - total
    env = write_env(args.env_file, viewer, quiet, counts, seeded.timings)
    out(f"seeded in {seeded.timings['total']:.1f} s")
    for name, value in counts.items():
        out(f"  {name:<12} {value:>10,}")
    out(f"bench user: {env['username']} / {env['password']}")
    out(f"session cookie: {env['session_cookie_name']}={env['session']}")
    out(f"bearer token: {env['token']}")
    out(f"big channel: {env['big_channel']} ({env['big_channel_posts']} posts)")
    out(f"small channel: {env['small_channel']} ({env['small_channel_posts']} posts)")
    out(f"wrote {args.env_file}")


if __name__ == "__main__":
    main()
