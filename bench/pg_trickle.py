"""PostgreSQL's round trips at a trickle: what the machine costs a chat message's store before the app does anything.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_x .venv/bin/python bench/pg_trickle.py [--every-ms 20] [--n 300]

One connection (psycopg, autocommit, TCP to 127.0.0.1 as the app's), one statement every `--every-ms`, `--n` of
each, and p50 / p99 / max in ms of:

  SELECT 1                     the round trip alone: this process and a backend each woken once
  UPDATE, durable              a one-row UPDATE's transaction in one string (BEGIN; UPDATE; COMMIT), its WAL flushed
  UPDATE, commit not waited    the same with `SET LOCAL synchronous_commit = off`: no flush waited for

The row is in a table of its own (`bench_trickle`, made and dropped here). With `--no-idle-halt` the run is
repeated while this process holds Linux's PM QoS request `/dev/cpu_dma_latency` at 0 µs (root only), which keeps
idle CPUs polling instead of halting — as tuned's latency-performance profile does — to show how much of each
figure is waking a halted CPU.
"""

import argparse
import contextlib
import os
import statistics
import struct
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import out, percentile

STATEMENTS = {
    "SELECT 1": "SELECT 1",
    "UPDATE, durable": "BEGIN; UPDATE bench_trickle SET n = n + 1 WHERE id = 1; COMMIT",
    "UPDATE, commit not waited": (
        "BEGIN; SET LOCAL synchronous_commit = off; UPDATE bench_trickle SET n = n + 1 WHERE id = 1; COMMIT"
    ),
}


@contextlib.contextmanager
def no_idle_halt(wanted: bool) -> Iterator[None]:
    """While open, ask the kernel for 0 µs of wake-up latency (the request lasts as long as the file is open)."""
    if not wanted:
        yield
        return
    with open("/dev/cpu_dma_latency", "wb", buffering=0) as request:
        request.write(struct.pack("i", 0))
        yield


def measure(conn: object, sql: str, n: int, every: float) -> list[float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        conn.execute(sql)  # type: ignore[attr-defined]
        times.append((time.perf_counter() - started) * 1000)
        time.sleep(max(0.0, every - (time.perf_counter() - started)))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every-ms", type=float, default=20.0)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--no-idle-halt", action="store_true", help="also run with idle CPUs kept from halting")
    args = parser.parse_args()
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_trickle (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute("INSERT INTO bench_trickle VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
        try:
            runs = [False, True] if args.no_idle_halt else [False]
            out(f"one statement every {args.every_ms:g} ms, {args.n} of each; ms")
            out("| statement | idle CPUs | p50 | p99 | max |")
            out("|---|---|---:|---:|---:|")
            for polling in runs:
                with no_idle_halt(polling):
                    for label, sql in STATEMENTS.items():
                        measure(conn, sql, 20, args.every_ms / 1000)  # warm
                        times = measure(conn, sql, args.n, args.every_ms / 1000)
                        idle = "kept polling" if polling else "halt (default)"
                        out(
                            f"| {label} | {idle} | {statistics.median(times):.2f} | {percentile(times, 0.99):.2f}"
                            f" | {max(times):.2f} |"
                        )
        finally:
            conn.execute("DROP TABLE bench_trickle")


if __name__ == "__main__":
    main()
