"""Load held: a realistic mix of what people do, on 2 server processes with PostgreSQL and Redis.

    createdb -h 127.0.0.1 -U postgres h_faults   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_faults nice -n 10 .venv/bin/python bench/load.py \\
        --users 200 --duration 600

Seeds --users people (app tokens and web sessions, accounts a month old), 12 channels (text, vote and punch)
everyone has joined, polls, and groups of 10 for chat. Starts a private redis-server and two uvicorn
processes of `same.asgi:application` (what `--workers 2` runs, on two ports so that each process's memory
can be read), and every person a WebSocket on one of them. Each person then loops for --duration seconds:
one action drawn by weight, then a pause of --think seconds on average:

  explore   GET /api/v1/channels?sort=active          feed      GET /api/v1/feed
  channel   GET /api/v1/channels/{id}/posts           web       GET /explore (the HTML page, session cookie)
  post      POST /api/v1/channels/{id}/posts (text)   same      POST then DELETE /api/v1/posts/{id}/same
  vote      POST /api/v1/posts/{id}/vote (a poll not yet voted on)
  punch     POST /api/v1/channels/{id}/punch (once per person, on their first draw)
  chat      POST /api/v1/conversations/{id}/messages; every member's socket should hear it

Reported: per action the count, throughput, p50/p99/max latency and errors (anything but the expected
status, or no answer); chat deliveries heard; both servers' RSS sampled every 5 s (first after warm-up,
max, last); the load average. Only 127.0.0.1 is contacted.
"""

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.asynchttp import Http
from bench.benchlib import percentile
from bench.chat_faults import SECRET_KEY, Servers
from bench.private_services import PrivateRedis

PREFIX = "load"
WEIGHTS = {
    "explore": 14,
    "feed": 16,
    "channel": 14,
    "web": 8,
    "post": 8,
    "same": 14,
    "vote": 6,
    "punch": 4,
    "chat": 16,
}
EXPECTED = {"post": {201}, "punch": {201}, "chat": {201}, "vote": {200}}


@dataclass
class Person:
    username: str
    token: str
    session: str
    group: str


@dataclass
class World:
    people: list[Person]
    channels: list[str]  # public ids of text channels
    punch_channels: list[str]
    polls: list[str] = field(default_factory=list)  # post ids
    posts: list[tuple[str, str]] = field(default_factory=list)  # (post id, author's username) to press same on


def seed(users: int) -> tuple[World, list[str]]:
    """The world, and the vote channels' ids (polls are made through the API once the servers run)."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone

    from bench.benchlib import bench_people
    from chat.models import Conversation, Participant
    from interests.models import Channel
    from interests.services import channel_create, channel_join
    from posts.services import post_create_text

    with transaction.atomic():
        Channel.objects.filter(name__startswith="Load ").delete()
        Conversation.objects.filter(participants__user__username__startswith=f"{PREFIX}_").distinct().delete()
        people, tokens = bench_people(PREFIX, users, label="load", date_joined=timezone.now() - timedelta(days=30))
        kinds = ["text"] * 6 + ["vote"] * 3 + ["punch"] * 3
        channels = [
            channel_create(host=people[i], name=f"Load {kind} {i}", kind=kind, category="moods")
            for i, kind in enumerate(kinds)
        ]
        for channel in channels:
            for person in people:
                if person.pk != channel.host_id:
                    channel_join(user=person, channel=channel)
        posts = [
            post_create_text(author=people[i % users], channel=channels[i % 6], text=f"seed post {i}")
            for i in range(60)
        ]
        groups = Conversation.objects.bulk_create(
            [
                Conversation(kind="group", state="active", started_by=people[s], title="load")
                for s in range(0, users, 10)
            ]
        )
        Participant.objects.bulk_create(
            [Participant(conversation=groups[i // 10], user=p) for i, p in enumerate(people)]
        )
        sessions = []
        for person in people:
            store = SessionStore()
            store.update(
                {
                    "_auth_user_id": str(person.pk),
                    "_auth_user_backend": "accounts.backends.EmailOrUsernameBackend",
                    "_auth_user_hash": person.get_session_auth_hash(),
                }
            )
            store.create()
            sessions.append(store.session_key)
    return World(
        people=[
            Person(p.username, t, s or "", groups[i // 10].public_id)
            for i, (p, t, s) in enumerate(zip(people, tokens, sessions, strict=True))
        ],
        channels=[c.public_id for c in channels if c.kind == "text"],
        punch_channels=[c.public_id for c in channels if c.kind == "punch"],
        posts=[(p.public_id, p.author.username) for p in posts],
    ), [c.public_id for c in channels if c.kind == "vote"]


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    heard: int = 0  # message.new events on the sockets

    def note(self, action: str, seconds: float, ok: bool, detail: str = "") -> None:
        self.latencies.setdefault(action, []).append(seconds)
        if not ok:
            self.errors[action] = self.errors.get(action, 0) + 1
            if sum(sample.startswith(f"{action}:") for sample in self.error_samples) < 4:
                self.error_samples.append(f"{action}: {detail}")


async def make_polls(port: int, world: World, vote_channels: list[str], count: int) -> None:
    http = Http(port)
    host = world.people[0]
    for i in range(count):
        channel = vote_channels[i % len(vote_channels)]
        body = {"question": f"Load poll {i}?", "options": ["yes", "no", "maybe"], "text": ""}
        answer = await http.request("POST", f"/api/v1/channels/{channel}/posts", token=host.token, json_body=body)
        assert answer.status == 201, answer
        world.polls.append(answer.json()["id"])
    http.close()


async def listen(person: Person, port: int, stats: Stats, stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect
    from websockets.typing import Origin

    while not stop.is_set():
        try:
            origin = Origin(f"http://127.0.0.1:{port}")
            async with connect(f"ws://127.0.0.1:{port}/ws/", origin=origin, ping_interval=None) as ws:
                await ws.send(json.dumps({"type": "auth", "token": person.token}))
                while not stop.is_set():
                    try:
                        frame = await asyncio.wait_for(ws.recv(), 1.0)
                    except TimeoutError:
                        continue
                    if '"message.new"' in str(frame):
                        stats.heard += 1
        except (OSError, TimeoutError) as error:
            stats.note("socket", 0.0, False, repr(error))
            await asyncio.sleep(1)
        except Exception as error:  # noqa: BLE001 -- a closed socket is counted as an error and reopened
            stats.note("socket", 0.0, False, repr(error))
            await asyncio.sleep(1)


async def person_loop(
    person: Person, ports: list[int], world: World, stats: Stats, stop: asyncio.Event, think: float
) -> None:
    http = {port: Http(port) for port in ports}
    voted: set[str] = set()
    punched = False
    actions, weights = list(WEIGHTS), list(WEIGHTS.values())
    number = 0
    await asyncio.sleep(random.uniform(0, think * 2))
    while not stop.is_set():
        number += 1
        action = random.choices(actions, weights)[0]
        if action == "punch" and punched:
            action = "feed"
        if action == "vote" and len(voted) == len(world.polls):
            action = "explore"
        client = http[random.choice(ports)]
        started = time.perf_counter()
        expected = EXPECTED.get(action, {200})
        try:
            if action == "explore":
                answer = await client.request("GET", "/api/v1/channels?sort=active", token=person.token)
            elif action == "feed":
                answer = await client.request("GET", "/api/v1/feed", token=person.token)
            elif action == "channel":
                answer = await client.request(
                    "GET", f"/api/v1/channels/{random.choice(world.channels)}/posts", token=person.token
                )
            elif action == "web":
                answer = await client.request("GET", "/explore", headers={"Cookie": f"sessionid={person.session}"})
            elif action == "post":
                answer = await client.request(
                    "POST",
                    f"/api/v1/channels/{random.choice(world.channels)}/posts",
                    token=person.token,
                    json_body={"text": f"a thought from {person.username}, number {number}"},
                    retry_closed=False,
                )
                if answer.status == 201:
                    world.posts.append((answer.json()["id"], person.username))
            elif action == "same":
                post = random.choice([pid for pid, author in world.posts[-200:] if author != person.username])
                answer = await client.request("POST", f"/api/v1/posts/{post}/same", token=person.token)
                if answer.status == 200:
                    answer = await client.request("DELETE", f"/api/v1/posts/{post}/same", token=person.token)
            elif action == "vote":
                poll = random.choice([p for p in world.polls if p not in voted])
                voted.add(poll)
                poll_answer = await client.request("GET", f"/api/v1/posts/{poll}", token=person.token)
                option = random.choice(poll_answer.json()["poll"]["options"])["id"]
                answer = await client.request(
                    "POST", f"/api/v1/posts/{poll}/vote", token=person.token, json_body={"option_ids": [option]}
                )
            elif action == "punch":
                punched = True
                answer = await client.request(
                    "POST",
                    f"/api/v1/channels/{random.choice(world.punch_channels)}/punch",
                    token=person.token,
                    json_body={"note": ""},
                    retry_closed=False,
                )
            else:  # chat
                answer = await client.request(
                    "POST",
                    f"/api/v1/conversations/{person.group}/messages",
                    token=person.token,
                    json_body={"text": f"hello {number}", "client_id": f"{person.username}.{number}"},
                )
            stats.note(
                action,
                time.perf_counter() - started,
                answer.status in expected,
                f"{answer.status} {answer.body[:200]!r}",
            )
        except (OSError, TimeoutError, ValueError, KeyError, IndexError) as error:
            stats.note(action, time.perf_counter() - started, False, repr(error))
            client.close()
        try:
            async with asyncio.timeout(random.expovariate(1 / think)):
                await stop.wait()
        except TimeoutError:
            pass
    for connection in http.values():
        connection.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn runs the app in the process itself)."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    for one in pids:
        for line in Path(f"/proc/{one}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


async def run(world: World, ports: list[int], pids: list[int], args: argparse.Namespace) -> dict[str, Any]:
    stats = Stats()
    stop = asyncio.Event()
    listeners = [
        asyncio.create_task(listen(person, ports[i % 2], stats, stop)) for i, person in enumerate(world.people)
    ]
    await asyncio.sleep(3)
    loops = [asyncio.create_task(person_loop(person, ports, world, stats, stop, args.think)) for person in world.people]
    samples: list[tuple[float, list[float]]] = []
    started = time.monotonic()
    while time.monotonic() - started < args.duration:
        await asyncio.sleep(5)
        samples.append((time.monotonic() - started, [rss_mb(pid) for pid in pids]))
        if len(samples) % 12 == 0:
            done = sum(len(v) for v in stats.latencies.values())
            print(
                f"[{samples[-1][0]:5.0f} s] {done} requests, {sum(stats.errors.values())} errors, "
                f"RSS {[f'{m:.0f}' for m in samples[-1][1]]} MB, load {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    stop.set()
    await asyncio.gather(*loops)
    await asyncio.sleep(2)
    await asyncio.gather(*listeners)
    elapsed = time.monotonic() - started
    return {"stats": stats, "samples": samples, "elapsed": elapsed}


def report(result: dict[str, Any], args: argparse.Namespace) -> None:
    stats: Stats = result["stats"]
    elapsed = result["elapsed"]
    print(f"\n{args.users} people, {elapsed:.0f} s, think {args.think} s on average")
    print(f"{'action':8} {'count':>7} {'per s':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}")
    total = 0
    for action in [*WEIGHTS, "socket"]:
        values = stats.latencies.get(action, [])
        if not values:
            continue
        total += len(values)
        print(
            f"{action:8} {len(values):7d} {len(values) / elapsed:7.1f} {percentile(values, 0.5) * 1e3:8.1f} "
            f"{percentile(values, 0.99) * 1e3:8.1f} {max(values) * 1e3:8.1f} {stats.errors.get(action, 0):7d}"
        )
    print(f"all      {total:7d} {total / elapsed:7.1f}   errors {sum(stats.errors.values())}")
    chats = len(stats.latencies.get("chat", [])) - stats.errors.get("chat", 0)
    print(f"chat: {chats} messages stored, {stats.heard} message.new heard on sockets (groups of 10: ~{chats * 10})")
    samples = result["samples"]
    warm = samples[max(0, len(samples) // 10)][1]
    peak = [max(s[1][i] for s in samples) for i in range(len(warm))]
    last = samples[-1][1]
    print(
        "server RSS MB (after warm-up → max → end): "
        + ", ".join(f"{w:.0f} → {p:.0f} → {e:.0f}" for w, p, e in zip(warm, peak, last, strict=True))
    )
    print(f"load average at the end: {os.getloadavg()}")
    for sample in stats.error_samples:
        print("  error:", sample)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--think", type=float, default=2.0, help="mean pause between one person's actions (s)")
    parser.add_argument("--polls", type=int, default=30)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database of your own (see the docstring)")
    import django

    os.environ["SECRET_KEY"] = SECRET_KEY  # the sessions seeded here are checked by the servers
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    started = time.monotonic()
    world, vote_channels = seed(args.users)
    print(f"seeded {args.users} people in {time.monotonic() - started:.1f} s", flush=True)
    redis = PrivateRedis()
    redis.start()
    servers = Servers(os.environ["DATABASE_URL"], redis)
    try:
        servers.wait_up()
        asyncio.run(make_polls(servers.ports[0], world, vote_channels, args.polls))
        print(f"load average before: {os.getloadavg()}", flush=True)
        result = asyncio.run(run(world, servers.ports, [p.pid for p in servers.procs], args))
        report(result, args)
        print(f"servers still running: {servers.alive()}; exceptions in their logs: {servers.tracebacks()}")
    finally:
        servers.close()
        redis.remove()
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()
