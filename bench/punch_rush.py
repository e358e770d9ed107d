"""The morning rush: many different people punch into one channel at once, on one ASGI worker.

    createdb -h 127.0.0.1 -U postgres bench_rush   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_rush .venv/bin/python bench/punch_rush.py

Seeds N people with app tokens who all joined one punch channel (with a small playlist), starts
uvicorn (one process), and has wrk send each request as the next person's first punch of the day.
Reports punches/s and latency, then checks the database: one punch per person, every 201 a row,
and each stored rank equal to 1 + the punches of that day that were earlier.
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")

import django

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402

from bench.benchlib import ROOT, bench_people, cpu_seconds, out  # noqa: E402
from interests.models import Channel, Membership  # noqa: E402
from interests.names import channel_name_key  # noqa: E402
from posts.models import Post, Song  # noqa: E402
from punches.models import PlaylistEntry, Punch  # noqa: E402

PREFIX = "rush"


def seed(people: int) -> tuple[str, list[str]]:
    """A fresh punch channel and `people` members with tokens; returns the channel id and the tokens."""
    started = time.perf_counter()
    with transaction.atomic():
        Channel.objects.filter(host__username__startswith=f"{PREFIX}_").delete()
        users, secrets_list = bench_people(PREFIX, people, label="rush", timezone="Europe/Paris")
        host = users[0]
        channel = Channel.objects.create(
            name=f"Rush {secrets.token_hex(3)}",
            name_key=channel_name_key(f"rush {secrets.token_hex(3)}"),
            kind="punch",
            category="rituals",
            host=host,
            member_count=people,
        )
        Membership.objects.bulk_create([Membership(channel=channel, user=u) for u in users], batch_size=5000)
        music = Channel.objects.create(
            name=f"Rush songs {secrets.token_hex(3)}",
            name_key=f"rush songs {secrets.token_hex(4)}",
            kind="music",
            category="music",
            host=host,
        )
        for i in range(5):
            post = Post.objects.create(channel=music, author=host, kind="music", text="")
            Song.objects.create(post=post, title=f"Song {i}", artist="Bench")
            PlaylistEntry.objects.create(channel=channel, song_post=post)
    out(f"seeded {people:,} people with tokens in {time.perf_counter() - started:.1f} s")
    return channel.public_id, secrets_list


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not come up")


def load_average() -> str:
    """The machine is shared: every figure goes with the load it was taken under."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def check(channel_id: str, created: int) -> dict[str, int]:
    """What the database says after the rush."""
    channel = Channel.objects.get(public_id=channel_id)
    punches = Punch.objects.filter(channel=channel)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM punches_punch p
            WHERE p.channel_id = %s AND p.rank <> 1 + (
                SELECT count(*) FROM punches_punch q
                WHERE q.channel_id = p.channel_id AND q.local_date = p.local_date AND q.local_seconds < p.local_seconds
            )
            """,
            [channel.pk],
        )
        (wrong_rank,) = cursor.fetchone()
    return {
        "rows": punches.count(),
        "created_answers": created,
        "people_with_two": punches.values("user").annotate(n=Count("pk")).filter(n__gt=1).count(),
        "rank_differs_from_recount": int(wrong_rank),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", default="10s")
    parser.add_argument(
        "--settings", default="same.settings", help="DJANGO_SETTINGS_MODULE of the server (bench.settings_pool: a pool)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    load_before = load_average()
    channel_id, tokens = seed(args.people)
    with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as handle:
        handle.write("\n".join(tokens))
        token_file = handle.name
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": args.settings}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "same.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        url = f"http://127.0.0.1:{port}/api/v1/channels/{channel_id}/punch"
        cpu_before = cpu_seconds(server.pid)
        result = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{args.connections}",
                f"-d{args.duration}",
                "--timeout",
                "10s",
                "-s",
                str(Path(__file__).with_name("rush.lua")),
                url,
                "--",
                token_file,
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        server_cpu = cpu_seconds(server.pid) - cpu_before
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        Path(token_file).unlink(missing_ok=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RUSH "))
    figures = json.loads(line.removeprefix("RUSH "))
    seconds = figures["duration_us"] / 1e6
    out(
        f"database: {connection.vendor}; settings: {args.settings}; people: {args.people:,}; "
        f"connections: {args.connections}; duration: {seconds:.1f} s; "
        f"HTTP_HANDLER={os.environ.get('HTTP_HANDLER', 'wsgi')}, HTTP_THREADS={os.environ.get('HTTP_THREADS', '32')}; "
        f"load average before: {load_before}, after: {load_average()}"
    )
    answers = figures["created"] + figures["conflict"] + figures["other"]
    out("| punches/s | server CPU per answer | p50 | p90 | p99 | max | 201 | 409 | other |")
    out("|---|---|---|---|---|---|---|---|---|")
    out(
        f"| {figures['created'] / seconds:,.0f} | {1000 * server_cpu / max(answers, 1):.1f} ms | {figures['p50_us'] / 1000:.1f} ms | {figures['p90_us'] / 1000:.1f} ms | "
        f"{figures['p99_us'] / 1000:.1f} ms | {figures['max_us'] / 1000:.1f} ms | {figures['created']} | {figures['conflict']} | {figures['other']} |"
    )
    out("check:", json.dumps(check(channel_id, figures["created"])))


if __name__ == "__main__":
    main()
