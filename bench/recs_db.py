"""The recompute against a real database: bench/recs_eval.py's synthetic community, inserted as
people, channels, memberships, posts and *same* rows, then `recompute_everyone()` timed end to end
(reading the signals, computing, writing the channel graph and every person's suggestions), and
the read path of GET /api/v1/recommendations/channels and /posts measured (queries, milliseconds).

Usage (from the repository root; a scratch database, which it migrates and fills — never a real one):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recsbench SAME_VAR_DIR=/tmp/recsbench \\
        .venv/bin/python bench/recs_db.py --people 100000
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")

import django

django.setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from bench.recs_eval import generate  # noqa: E402
from interests.models import Channel, Membership  # noqa: E402
from posts.models import Post, Same  # noqa: E402
from recommendations import engine  # noqa: E402
from recommendations.models import ChannelNeighbour, ChannelSuggestion, RecommendationPrefs  # noqa: E402
from recommendations.recompute import recompute_everyone  # noqa: E402

BATCH = 5000
POSTS_PER_CHANNEL = 3


def fill(people: int, seed: int) -> int:
    community = generate(people, seed=seed)
    now = timezone.now()
    rng = random.Random(seed)
    started = time.perf_counter()
    unusable = make_password(None)  # nobody logs in as these people
    User.objects.bulk_create(
        (
            User(username=f"p{i}", username_key=f"p{i}", email=f"p{i}@example.test", password=unusable)
            for i in range(people)
        ),
        batch_size=BATCH,
    )
    user_ids = list(User.objects.order_by("pk").values_list("pk", flat=True))
    members: dict[int, int] = {}
    for _person, channel, kind in community.events:
        if kind == engine.JOIN:
            members[channel] = members.get(channel, 0) + 1
    Channel.objects.bulk_create(
        (
            Channel(
                name=f"c{c.id} {community.texts[c.id]}"[:40],
                name_key=f"c{c.id}",
                description=community.texts[c.id],
                kind="text",
                category=c.category,
                member_count=members.get(c.id, 0),
                post_count=POSTS_PER_CHANNEL,
                created_at=now - timedelta(days=c.age_days),
                last_post_at=now - timedelta(days=c.idle_days),
            )
            for c in community.channels
        ),
        batch_size=BATCH,
    )
    channel_ids = list(Channel.objects.order_by("pk").values_list("pk", flat=True))
    Membership.objects.bulk_create(
        (
            Membership(user_id=user_ids[p], channel_id=channel_ids[c])
            for p, c, kind in community.events
            if kind == engine.JOIN
        ),
        batch_size=BATCH,
    )
    Post.objects.bulk_create(
        (
            Post(
                channel_id=channel_ids[c.id],
                author_id=user_ids[rng.randrange(people)],
                kind="text",
                text=f"post {n} in {c.id}",
                created_at=now - timedelta(hours=rng.uniform(1, 24 * 20)),
            )
            for c in community.channels
            for n in range(POSTS_PER_CHANNEL)
        ),
        batch_size=BATCH,
    )
    posts_of: dict[int, list[int]] = {}
    for pk, channel in Post.objects.values_list("pk", "channel_id"):
        posts_of.setdefault(channel, []).append(pk)
    seen: set[tuple[int, int]] = set()
    sames = []
    for p, c, kind in community.events:
        if kind == engine.SAME:
            key = (rng.choice(posts_of[channel_ids[c]]), user_ids[p])
            if key not in seen:
                seen.add(key)
                sames.append(Same(post_id=key[0], user_id=key[1]))
    Same.objects.bulk_create(sames, batch_size=BATCH)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
    signals = sum(1 for _p, _c, kind in community.events if kind == engine.JOIN) + len(sames)
    print(
        f"filled: {people:,} people, {len(channel_ids):,} channels, {signals:,} signals in {time.perf_counter() - started:.0f}s"
    )
    return signals


def measure_reads(samples: int) -> None:
    client = Client()
    people = list(ChannelSuggestion.objects.values_list("user_id", flat=True).distinct()[:samples])
    for path in ("/api/v1/recommendations/channels", "/api/v1/recommendations/posts"):
        times, counts = [], []
        for pk in people:
            client.force_login(User.objects.get(pk=pk))
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.content
            counts.append(len(queries))
        print(
            f"{path}: median {statistics.median(times):.0f} ms, p90 {sorted(times)[int(len(times) * 0.9)]:.0f} ms, "
            f"{min(counts)}–{max(counts)} queries (auth and session included), {len(people)} people"
        )


def backend_cpu() -> float:
    """CPU seconds the database server's process for this connection has used (PostgreSQL on this
    machine): with the Python process's own, the work a recompute costs, whatever else the shared
    machine is doing — wall time is not that on a busy machine."""
    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--again", action="store_true", help="the database is filled already: recompute only")
    parser.add_argument("--reads-only", action="store_true", help="the database is filled and computed: measure reads")
    args = parser.parse_args(argv)
    call_command("migrate", verbosity=0)
    if args.reads_only:
        measure_reads(args.reads)
        return
    if not args.again:
        if User.objects.exists():
            raise SystemExit("The database is not empty: give bench/recs_db.py a scratch database.")
        fill(args.people, args.seed)
    else:  # start from no recommendations at all, as on the first run
        ChannelSuggestion.objects.all().delete()
        ChannelNeighbour.objects.all().delete()
        RecommendationPrefs.objects.all().delete()
    for label in ("first run (nothing stored)", "second run (same signals: steady state)"):
        with open("/proc/loadavg") as handle:
            load = " ".join(handle.read().split()[:3])
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu, db_cpu = time.process_time(), backend_cpu()
        stats = recompute_everyone()
        cpu, db_cpu = time.process_time() - cpu, backend_cpu() - db_cpu
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"recompute_everyone, {label}: {stats.seconds:.0f}s wall, {cpu:.0f}s CPU in this process and "
            f"{db_cpu:.0f}s in its database server process, {stats.people:,} people, {stats.signals:,} signals, "
            f"{stats.neighbour_rows:,} links, {stats.suggestion_rows:,} suggestion rows written, {stats.stale_rows:,} stale rows dropped; peak RSS "
            f"{peak / 1024:.0f} MiB ({before / 1024:.0f} MiB before); load average before: {load}"
        )
    measure_reads(args.reads)


if __name__ == "__main__":
    main()
