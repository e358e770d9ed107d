"""CPU time of one 1:1 chat send over HTTP, in process: `POST /api/v1/conversations/{id}/messages` with a
bearer token through Django's WSGI handler (the path `core.http_bridge` runs in its pool threads), the
whole middleware chain, django-ninja, the token, the rate limits, the service and its statements, and the
event handed to an event loop running in another thread (as `core.realtime.publish` does in the server).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_x SAME_VAR_DIR=/tmp/x \\
        .venv/bin/python bench/send_cpu.py --sends 300 [--profile 30] [--redis-url redis://…/N]

Seeds two people with tokens and an active direct conversation (removed first if a previous run left
them), sends `--warmup` messages, freezes the garbage collector's start-up objects, then times `--sends`
sends alternating between the two people with `time.thread_time` (this thread's CPU: steadier than wall
time on a shared machine) and prints the median, the 10th percentile and the minimum, in µs, and the wall
time's median and 90th percentile. After each request the connection goes back to the pool, as the
server's `request_finished` does (Django's test client skips that), so the pool's check is in the figure;
`--stock-pool-check` puts psycopg_pool's own check back for a before/after. `--profile N`
prints the top N functions of a cProfile run over the same sends (wall clock, PostgreSQL's waits included), by
cumulative time (SORT=tottime: by own time).
"""

import argparse
import asyncio
import cProfile
import gc
import hashlib
import json
import os
import pstats
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, help="print the top N functions of a cProfile run")
    parser.add_argument("--redis-url", default="", help="cache and channel layer on Redis (default: in memory)")
    parser.add_argument(
        "--door",
        choices=("api", "socket"),
        default="api",
        help="api: the HTTP request; socket: the service a token socket's `send` frame calls (its later texts)",
    )
    parser.add_argument(
        "--stock-pool-check", action="store_true", help="psycopg_pool's own check (a round trip per request)"
    )
    args = parser.parse_args()
    os.environ.setdefault("RATE_LIMIT_SCALE", "1000")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    if args.redis_url:
        os.environ["REDIS_URL"] = args.redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client

    import core.realtime
    from bench.benchlib import bench_people
    from chat.models import Conversation, Participant

    if args.stock_pool_check and connection.vendor == "postgresql":
        from psycopg_pool import ConnectionPool

        connection.settings_dict["OPTIONS"]["pool"]["check"] = ConnectionPool.check_connection
    call_command("migrate", verbosity=0)
    with transaction.atomic():
        Conversation.objects.filter(participants__user__username__startswith="sendcpu_").distinct().delete()
        users, tokens = bench_people("sendcpu", 2, label="send-cpu")
        conversation = Conversation.objects.create(kind="direct", state="active", started_by=users[0])
        Participant.objects.bulk_create([Participant(conversation=conversation, user=u) for u in users])

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    core.realtime._serving_loop = loop  # publish() hands events over as it does in the server

    client = Client()
    path = f"/api/v1/conversations/{conversation.public_id}/messages"
    count = 0

    from chat.services import message_send_from_socket
    from core.realtime import Credential

    digests = [hashlib.sha256(token.encode()).hexdigest() for token in tokens]

    def send() -> None:
        nonlocal count
        count += 1
        if args.door == "socket":
            sent = message_send_from_socket(
                credential=Credential(token_digest=digests[count % 2]),
                sender=users[count % 2],
                conversation_id=conversation.public_id,
                text=f"message {count}",
                client_id=f"c{count}-{time.monotonic_ns()}",
            )
            assert sent.created
            connection.close()  # as the frame's thread does: back to the pool
            return
        response = client.post(
            path,
            json.dumps({"text": f"message {count}", "client_id": f"c{count}-{time.monotonic_ns()}"}),
            content_type="application/json",
            headers={"authorization": f"Bearer {tokens[count % 2]}"},
        )
        assert response.status_code == 201, (response.status_code, response.content[:300])
        connection.close()  # as the server's request_finished does (the test client skips it): back to the pool

    for _ in range(args.warmup):
        send()
    gc.collect()
    gc.freeze()
    times, walls = [], []
    for _ in range(args.sends):
        start, wall = time.thread_time(), time.perf_counter()
        send()
        times.append((time.thread_time() - start) * 1e6)
        walls.append((time.perf_counter() - wall) * 1e6)
    times.sort()
    walls.sort()
    print(
        f"1:1 send ({args.door}), CPU per send: median {statistics.median(times):,.0f} µs, "
        f"p10 {times[len(times) // 10]:,.0f} µs, min {times[0]:,.0f} µs; wall median "
        f"{statistics.median(walls):,.0f} µs, p90 {walls[len(walls) * 9 // 10]:,.0f} µs ({args.sends} sends)"
    )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.sends):
            send()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(args.profile)
    print("load average:", " ".join(Path("/proc/loadavg").read_text().split()[:3]))
    loop.call_soon_threadsafe(loop.stop)


if __name__ == "__main__":
    main()
