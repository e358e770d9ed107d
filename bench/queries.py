"""Count the SQL queries of each benchmarked page, and EXPLAIN the feed queries, on the seeded database.

Usage (from the repository root, after bench/seed.py; reads the database from bench/.bench-env):

    .venv/bin/python bench/queries.py
    .venv/bin/python bench/queries.py --env-file bench/.bench-env.sqlite --no-explain

In-process, with Django's test Client (force_login, no server): for every page of bench/run.py it
prints the number of queries, their summed database time and the whole response time. Then it
captures the posts query of posts.selectors.home_feed and channel_posts (first page, page 51
reached by following `next`, and a page 100,000 rows deep), prints its SQL, its plan
(EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY PLAN on SQLite) and its median time.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the app, and bench as a package

from bench.benchlib import DEEP_PAGES, DEFAULT_ENV_FILE, endpoints, load_env, out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE)
    parser.add_argument("--no-explain", action="store_true", help="only count the queries of each page")
    parser.add_argument("--show-sql", action="store_true", help="print every query of the home and channel pages")
    parser.add_argument("--repeat", type=int, default=15, help="runs of each explained query (median time)")
    parser.add_argument(
        "--profile", default="", help="comma-separated endpoint names to run under cProfile (30 requests each)"
    )
    parser.add_argument("--deep-rows", type=int, default=100_000, help="offset of the 'very deep' cursor")
    return parser.parse_args(argv)


ARGS = parse_args()
ENV = load_env(ARGS.env_file)
if ENV.get("database_url"):
    os.environ["DATABASE_URL"] = ENV["database_url"]
else:
    os.environ.pop("DATABASE_URL", None)
os.environ["SAME_VAR_DIR"] = ENV["same_var_dir"]
os.environ["DJANGO_SETTINGS_MODULE"] = "same.settings"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import QuerySet  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from core.pagination import _encode  # noqa: E402
from interests.models import Channel  # noqa: E402
from posts import selectors  # noqa: E402
from posts.models import Post  # noqa: E402

PG = connection.vendor == "postgresql"


def page_items(result: Any) -> Any:
    """channel_posts returns a Page, or (newer code) an object holding the page as `.page`."""
    return getattr(result, "page", result)


def follow_cursor(fetch: Callable[[str | None], Any], pages: int) -> str:
    cursor: str | None = None
    for _ in range(pages):
        cursor = page_items(fetch(cursor)).next
        if cursor is None:
            raise SystemExit(f"fewer than {pages + 1} pages")
    assert cursor is not None
    return cursor


def cursor_at(queryset: QuerySet[Post], offset: int) -> str | None:
    """The cursor whose next page starts after the row at `offset` (to show what a very deep page costs)."""
    row = queryset.order_by("-created_at", "-public_id").values_list("created_at", "public_id")[offset : offset + 1]
    found = list(row)
    return _encode(list(found[0])) if found else None


def count_pages(viewer: User, quiet: User, feed_deep: str, chan_deep: str) -> None:
    client, quiet_client = Client(), Client()
    client.force_login(viewer)
    quiet_client.force_login(quiet)
    out("| endpoint | queries | SQL ms | response ms | status | bytes |")
    out("|---|---:|---:|---:|---:|---:|")
    shown: dict[str, list[dict[str, str]]] = {}
    for endpoint in endpoints(ENV, feed_deep, chan_deep):
        headers = {k: v for k, v in endpoint.headers.items() if k != "Cookie"}
        use = quiet_client if endpoint.name == "home-sparse" else client
        if "Cookie" not in endpoint.headers:  # /healthz bare, and the API with its bearer token alone
            use = Client()
        for _ in range(2):  # the second run is counted: the first fills caches (templates, translations)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = use.get(endpoint.path, headers=headers)
                took = (time.perf_counter() - started) * 1000
        sql_ms = sum(float(q["time"]) for q in captured.captured_queries) * 1000
        out(
            f"| `{endpoint.name}` | {len(captured)} | {sql_ms:.1f} | {took:.1f} | {response.status_code} |"
            f" {len(response.content):,} |"
        )
        shown[endpoint.name] = captured.captured_queries
    for name in filter(None, ARGS.profile.split(",")):
        profile_page(name, client, feed_deep, chan_deep)
    if ARGS.show_sql:
        for name in ("home", "channel-big", "api-feed"):
            out(f"\n### queries of {name}")
            for index, query in enumerate(shown[name], 1):
                out(f"{index:>2}. ({float(query['time']) * 1000:.2f} ms) {query['sql'][:600]}")


def profile_page(name: str, client: Client, feed_deep: str, chan_deep: str) -> None:
    """Where a page's time goes, in process: the top of cProfile's cumulative listing."""
    endpoint = next(e for e in endpoints(ENV, feed_deep, chan_deep) if e.name == name)
    headers = {k: v for k, v in endpoint.headers.items() if k != "Cookie"}
    use = client if "Cookie" in endpoint.headers else Client()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(30):
        use.get(endpoint.path, headers=headers)
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
    out(f"\n### cProfile of {name} (30 requests)\n```\n{text.getvalue().strip()}\n```")


def posts_query(call: Callable[[], Any]) -> tuple[str, int]:
    """Run a selector and return the SQL of its posts query (the one with LIMIT 21) and how many ran."""
    with CaptureQueriesContext(connection) as captured:
        call()
    # The ORM writes FROM "posts_post"; the hand-written channel page query (posts.selectors) FROM posts_post p.
    found = [
        q["sql"]
        for q in captured.captured_queries
        if re.search(r'FROM "?posts_post"?\s', q["sql"]) and "LIMIT 21" in q["sql"]
    ]
    if not found:
        raise SystemExit("no posts query with LIMIT 21 was captured")
    return found[0], len(captured)


def timed(sql: str) -> float:
    runs = []
    with connection.cursor() as cursor:
        for _ in range(ARGS.repeat):
            started = time.perf_counter()
            cursor.execute(sql)
            cursor.fetchall()
            runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


# The keyset condition as core.pagination writes it: (a < x) OR (b < y AND a = x).
KEYSET_OR = re.compile(
    r"\(\"posts_post\"\.\"created_at\" < (?P<t>'[^']*'(?:::\w+)?) OR "
    r"\(\"posts_post\"\.\"public_id\" < (?P<p>'[^']*') AND \"posts_post\"\.\"created_at\" = (?P=t)\)\)"
)
CONDENSED = re.compile(r"on posts_post |Index Cond|Rows Removed|Filter|Sort|Planning Time|Execution Time")


def explain(label: str, call: Callable[[], Any], show_sql: bool) -> None:
    sql, count = posts_query(call)
    out(f"\n### {label}")
    out(f"selector ran {count} queries; median of {ARGS.repeat} runs of the posts query: {timed(sql):.2f} ms")
    if show_sql:
        out("\n```sql\n" + sql + "\n```")
    out("\n```\n" + "\n".join(plan_of(sql)) + "\n```")
    if KEYSET_OR.search(sql):
        # For comparison only (not the app's query): the same page with a row-value comparison, which an
        # index on (..., created_at DESC, public_id DESC) can seek to instead of filtering from the top.
        row_sql = KEYSET_OR.sub(
            lambda m: f'("posts_post"."created_at", "posts_post"."public_id") < ({m["t"]}, {m["p"]})', sql
        )
        out(f"\nthe same page with `(created_at, public_id) < (x, y)` instead: median {timed(row_sql):.2f} ms")
        plan = plan_of(row_sql)
        out("```\n" + "\n".join(line for line in plan if CONDENSED.search(line) or not PG) + "\n```")


def plan_of(sql: str, *, summary: bool = False) -> list[str]:
    with connection.cursor() as cursor:
        if PG:
            cursor.execute(("EXPLAIN (ANALYZE, SUMMARY) " if summary else "EXPLAIN (ANALYZE, BUFFERS) ") + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        rows = cursor.fetchall()
    if PG:
        return [row[0] for row in rows]
    depth: dict[int, int] = {0: -1}  # SQLite: rows of (id, parent, unused, detail), indented by depth
    plan = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        plan.append("  " * depth[node] + detail)
    return plan


SIDE_COLUMNS = re.compile(r', "posts_(song|movie|poll)"\."\w+"')
SIDE_JOINS = re.compile(
    r' LEFT OUTER JOIN "posts_(song|movie|poll)" ON \("posts_post"\."id" = "posts_\w+"\."post_id"\)'
)
JOINED_SUBQUERY = re.compile(
    r'"posts_post"\."channel_id" IN \(SELECT "U0"\."channel_id" AS "channel_id" FROM "interests_membership" "U0" '
    r'WHERE "U0"\."user_id" = (\d+)\)'
)


def planning_variants(label: str, sql: str) -> None:
    """PostgreSQL only: how planning time depends on the shape of the posts query (for comparison;
    the variants are not the app's queries). Medians of EXPLAIN (ANALYZE, SUMMARY) on one connection."""
    variants = {"the app's query": sql}
    variants["without the song/movie/poll LEFT JOINs"] = SIDE_JOINS.sub("", SIDE_COLUMNS.sub("", sql))
    found = JOINED_SUBQUERY.search(sql)
    if found:
        with connection.cursor() as cursor:
            cursor.execute("SELECT channel_id FROM interests_membership WHERE user_id = %s", [int(found[1])])
            ids = ", ".join(str(row[0]) for row in cursor.fetchall()) or "NULL"
        literal = f'"posts_post"."channel_id" IN ({ids})'
        variants["joined channel ids as a literal list"] = sql.replace(found[0], literal)
        variants["both"] = variants["without the song/movie/poll LEFT JOINs"].replace(found[0], literal)
    out(f"\n### planning vs execution: {label} (median of {ARGS.repeat}, for comparison)\n")
    out("| query shape | planning ms | execution ms |")
    out("|---|---:|---:|")
    for name, text in variants.items():
        planning, execution = [], []
        for _ in range(ARGS.repeat):
            summary = "\n".join(plan_of(text, summary=True))
            planning.append(float(re.findall(r"Planning Time: ([\d.]+)", summary)[0]))
            execution.append(float(re.findall(r"Execution Time: ([\d.]+)", summary)[0]))
        out(f"| {name} | {statistics.median(planning):.2f} | {statistics.median(execution):.2f} |")


def connection_cost() -> None:
    """What CONN_MAX_AGE=0 costs each request: a new connection, and a first query on a cold backend."""
    feed_sql = posts_query(lambda: selectors.home_feed(user=User.objects.get(username=ENV["username"])))[0]

    def median_ms(action: Callable[[], None], fresh: bool) -> float:
        runs = []
        for _ in range(ARGS.repeat):
            if fresh:
                connection.close()
            started = time.perf_counter()
            action()
            runs.append((time.perf_counter() - started) * 1000)
        return statistics.median(runs)

    def run(sql: str) -> Callable[[], None]:
        def action() -> None:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                cursor.fetchall()

        return action

    out(f"\n## Connection cost (median of {ARGS.repeat})\n")
    out("| what | fresh connection ms | open connection ms |")
    out("|---|---:|---:|")
    for label, sql in (("SELECT 1", "SELECT 1"), ("home feed posts query", feed_sql)):
        out(f"| {label} | {median_ms(run(sql), fresh=True):.2f} | {median_ms(run(sql), fresh=False):.2f} |")


def main() -> None:
    call_command("collectstatic", interactive=False, verbosity=0)  # the pages need the manifest
    viewer = User.objects.get(username=ENV["username"])
    quiet = User.objects.get(username=ENV["quiet_username"])
    big = Channel.objects.get(public_id=ENV["big_channel"])
    out(
        f"database: {connection.vendor}; viewer {viewer.username}; big channel {big.public_id} ({big.post_count:,} posts)"
    )

    def feed(cursor: str | None) -> Any:
        return selectors.home_feed(user=viewer, cursor=cursor)

    def channel(cursor: str | None) -> Any:
        return selectors.channel_posts(viewer=viewer, channel=big, cursor=cursor)

    feed_deep = follow_cursor(feed, DEEP_PAGES)
    chan_deep = follow_cursor(channel, DEEP_PAGES)
    out("\n## Queries per page (test Client, in process, second of two requests)\n")
    count_pages(viewer, quiet, feed_deep, chan_deep)
    if ARGS.no_explain:
        return
    connection_cost()
    if PG:
        planning_variants("home_feed, first page", posts_query(lambda: feed(None))[0])
        planning_variants("channel_posts, big channel", posts_query(lambda: channel(None))[0])
    joined = Post.objects.filter(channel__memberships__user=viewer, removed_at__isnull=True)
    feed_far = cursor_at(joined, ARGS.deep_rows)
    chan_far = cursor_at(Post.objects.filter(channel=big, removed_at__isnull=True), ARGS.deep_rows)
    out(f"\n## Plans of the posts query ({'EXPLAIN (ANALYZE, BUFFERS)' if PG else 'EXPLAIN QUERY PLAN'})")
    explain("home_feed, first page", lambda: feed(None), show_sql=True)
    explain(f"home_feed, page {DEEP_PAGES + 1}", lambda: feed(feed_deep), show_sql=True)
    if feed_far:
        explain(f"home_feed, {ARGS.deep_rows:,} rows deep", lambda: feed(feed_far), show_sql=False)
    explain(
        "home_feed of the quiet viewer (5 small channels)",
        lambda: selectors.home_feed(user=quiet, cursor=None),
        show_sql=False,
    )
    explain("channel_posts, big channel, first page", lambda: channel(None), show_sql=True)
    explain(f"channel_posts, big channel, page {DEEP_PAGES + 1}", lambda: channel(chan_deep), show_sql=False)
    if chan_far:
        explain(f"channel_posts, big channel, {ARGS.deep_rows:,} rows deep", lambda: channel(chan_far), show_sql=False)


if __name__ == "__main__":
    main()
