"""Redis restarted while people chat over WebSockets across two server processes.

    createdb -h 127.0.0.1 -U postgres h_faults   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_faults nice -n 10 .venv/bin/python bench/chat_faults.py \\
        --clients 200

Seeds N people with app tokens in groups of --group-size (rows written with the ORM), starts a private
redis-server and two uvicorn processes of `same.asgi:application` on it and on the database, and connects
each person's WebSocket to one of the two (alternately). Every person sends a message to their group
every --interval seconds (with jitter) over HTTP, to either process at random, resending with the same
`client_id` until answered 201/200. After --before seconds Redis is stopped; --outage seconds later it is
started again, empty. Chat goes on for --after seconds; then sending stops and the clients get --settle
seconds at most to hold everything.

A client keeps, per conversation, the highest `seq` it holds; it takes a `message.new` only when it is
the next one, and counts the frames it already held (doubles on the wire, dropped by `seq`). It resumes
as docs/websocket.md says: after every (re)connect, on a gap, and on a `resync` naming a conversation
where it is behind; one resume at a time per conversation (the next after its `resume.done`), again on
`more` or a gap still open after the answer (1, 2, 4, 8 s).

--ports and --redis-port pin the servers' and Redis's ports (free ones by default); --trace FILE writes
every client's resumes (when, why), answers and resyncs, to see where the catch-up time goes.

Checked at the end: every client holds exactly the conversation's stored messages, in order, each once,
which includes every message answered 201/200; every message stored before Redis came back reached
every member within --catch-up seconds of it; both servers are still running. tests/test_fault_redis.py
runs this with 40 clients; docs/reliability.md has the figures of a 200-client run.
"""

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.asynchttp import Http
from bench.benchlib import ROOT, percentile
from bench.private_services import PrivateRedis, free_port

PREFIX = "fault"
SECRET_KEY = "faults-" + "k" * 44  # the servers' key; a script seeding web sessions must sign with it too
ANSWER_WAIT = 15.0  # seconds a client waits for `resume.done` before it takes the resume as refused or lost
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt|Cancelled)\b")


@dataclass(frozen=True)
class Person:
    username: str
    token: str
    conversations: tuple[str, ...]


def seed(clients: int, group_size: int) -> list[Person]:
    """People in groups, with tokens. Django must be set up; the rows are committed."""
    from django.db import transaction

    from bench.benchlib import bench_people
    from chat.models import Conversation, Participant

    with transaction.atomic():
        Conversation.objects.filter(participants__user__username__startswith=f"{PREFIX}_").distinct().delete()
        users, tokens = bench_people(PREFIX, clients, label="faults")
        groups = Conversation.objects.bulk_create(
            [
                Conversation(kind="group", state="active", started_by=users[start], title=f"group {start}")
                for start in range(0, clients, group_size)
            ]
        )
        Participant.objects.bulk_create(
            [Participant(conversation=groups[i // group_size], user=user) for i, user in enumerate(users)]
        )
    return [
        Person(user.username, token, (groups[i // group_size].public_id,))
        for i, (user, token) in enumerate(zip(users, tokens, strict=True))
    ]


def start_server(
    port: int, *, database_url: str, redis_url: str, prefix: str, var_dir: Path, log: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "same.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CACHE_PREFIX": prefix,  # the channel layer's too: both processes must share it
        "SAME_VAR_DIR": str(var_dir),
        "SECRET_KEY": SECRET_KEY,
        "STATIC_MANIFEST": "0",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("SAME_TESTING", None)
    command = [sys.executable, "-m", "uvicorn", "same.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--ws", "core.ws_protocol:SharedFrameProtocol"]  # as `manage.py serve` runs it
    command += ["--no-access-log", "--log-level", "warning"]
    with log.open("wb") as sink:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink, start_new_session=True)


def wait_up(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"server on {port} did not start")


@dataclass
class Client:
    """One person's socket, resuming as docs/websocket.md ("Catching up") advises."""

    person: Person
    port: int
    held: dict[str, int] = field(default_factory=dict)
    got: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # (seq, client_id), in order taken
    arrived: dict[tuple[str, int], float] = field(default_factory=dict)  # (conversation, seq) -> when taken
    early: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)  # out-of-order events, by seq
    asking: dict[str, float] = field(default_factory=dict)  # a resume sent, its `resume.done` not yet come
    asked_after: dict[str, int] = field(default_factory=dict)  # `after` of the last resume sent
    answered_at: dict[str, float] = field(default_factory=dict)  # when the last `resume.done` came
    need: dict[str, int] = field(default_factory=dict)  # what a `resync` said the conversation holds
    again: set[str] = field(default_factory=set)  # ask once more when the answer is in (a bare `resync`)
    retries: dict[str, int] = field(default_factory=dict)  # gap resumes since the last progress
    doubles: int = 0
    resyncs: int = 0
    connects: int = 0
    closes: list[int] = field(default_factory=list)
    trail: list[str] = field(default_factory=list)  # the last frames, for a report on a failure
    resumes: list[tuple[float, str, int]] = field(default_factory=list)  # (when, why, after) of every resume
    answers: list[tuple[float, float]] = field(default_factory=list)  # (asked, answered) of every resume.done
    resync_times: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        for conversation in self.person.conversations:
            self.held[conversation] = 0
            self.got[conversation] = []
            self.early[conversation] = {}

    async def _resume(self, ws: Any, conversation: str, cause: str) -> None:
        """Ask for what follows what we hold, unless an answer is on its way (it is then checked on arrival)."""
        now = time.time()
        if now - self.asking.get(conversation, 0) < ANSWER_WAIT:  # an answer is on its way
            return
        self.resumes.append((now, cause, self.held[conversation]))
        self.trail.append(f"{now:.2f} > resume after {self.held[conversation]} ({cause})")
        self.asking[conversation] = now
        self.asked_after[conversation] = self.held[conversation]
        await ws.send(json.dumps({"type": "resume", "conversation_id": conversation, "after": self.held[conversation]}))

    async def _done(self, ws: Any, event: dict[str, Any]) -> None:
        conversation = event["conversation_id"]
        asked = self.asking.pop(conversation, None)
        now = time.time()
        self.answered_at[conversation] = now
        if asked is not None:
            self.answers.append((asked, now))
        if event["more"] or self.held[conversation] < self.need.get(conversation, 0) or conversation in self.again:
            self.again.discard(conversation)
            await self._resume(ws, conversation, "more")

    async def _take(self, ws: Any, event: dict[str, Any] | None) -> None:
        assert event is not None
        conversation, seq = event["conversation_id"], int(event["seq"])
        if conversation not in self.held:
            return
        held = self.held[conversation]
        early = self.early[conversation]
        if seq <= held or seq in early:
            self.doubles += 1
        elif seq == held + 1:
            self.retries[conversation] = 0
            while event is not None:  # this one, then any that came before their turn
                self.held[conversation] = seq
                self.got[conversation].append((seq, event["message"]["client_id"]))
                self.arrived[(conversation, seq)] = time.time()
                seq += 1
                event = early.pop(seq, None)
        else:
            # Two processes publish one conversation's events: they may arrive out of order. Keep it for its
            # turn, and ask for what is missing in case it was lost (once from here; later the retries).
            early[seq] = event
            if self.asked_after.get(conversation) != held:
                await self._resume(ws, conversation, "gap")

    async def _retry_gaps(self, ws: Any) -> None:
        """A gap still open after the answer: the loss came after it. Ask again 1 s after the last answer, then
        2, 4, 8 while nothing moves."""
        for conversation, early in self.early.items():
            if not early or time.time() - self.asking.get(conversation, 0) < ANSWER_WAIT:
                continue
            wait = min(8.0, 2.0 ** self.retries.get(conversation, 0))
            if time.time() - self.answered_at.get(conversation, 0) > wait:
                self.retries[conversation] = self.retries.get(conversation, 0) + 1
                await self._resume(ws, conversation, "retry")

    async def _resync(self, ws: Any, event: dict[str, Any]) -> None:
        self.resyncs += 1
        self.resync_times.append(time.time())
        newest = event.get("conversations")
        for conversation in self.person.conversations:
            if not isinstance(newest, dict):  # no details: resume everything
                if conversation in self.asking:
                    self.again.add(conversation)
                await self._resume(ws, conversation, "resync")
            elif self.held[conversation] < newest.get(conversation, 0):
                self.need[conversation] = max(self.need.get(conversation, 0), newest[conversation])
                await self._resume(ws, conversation, "resync")

    async def run(self, stop: asyncio.Event) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        url, origin = f"ws://127.0.0.1:{self.port}/ws/", f"http://127.0.0.1:{self.port}"
        pause = 0.2
        while not stop.is_set():
            try:
                async with connect(url, origin=origin, ping_interval=None, max_queue=None, open_timeout=10) as ws:  # type: ignore[arg-type]
                    await ws.send(json.dumps({"type": "auth", "token": self.person.token}))
                    while not stop.is_set():
                        await self._retry_gaps(ws)
                        try:
                            frame = await asyncio.wait_for(ws.recv(), 0.2)
                        except TimeoutError:
                            continue
                        event = json.loads(frame)
                        kind = event.get("type")
                        self.trail = [
                            *self.trail[-30:],
                            f"{time.time():.2f} {kind} {event.get('seq', '')} {event.get('code', '')}",
                        ]
                        if kind == "auth.ok":
                            self.connects += 1
                            pause = 0.2
                            self.asking.clear()  # answers to the last socket's resumes are gone with it
                            for conversation in self.person.conversations:
                                await self._resume(ws, conversation, "connect")
                        elif kind == "resync":
                            await self._resync(ws, event)
                        elif kind == "resume.done":
                            await self._done(ws, event)
                        elif kind == "message.new":
                            await self._take(ws, event)
            except ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else 1006)
            except (OSError, TimeoutError):
                self.closes.append(0)  # could not connect
            if not stop.is_set():
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)


@dataclass
class Sent:
    confirmed: dict[str, set[str]] = field(default_factory=dict)  # conversation -> client ids answered 201/200
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0  # no answer at all (connection refused, timeout)


async def sender(person: Person, ports: list[int], interval: float, stop: asyncio.Event, sent: Sent) -> None:
    connections = {port: Http(port, timeout=15) for port in ports}
    number = 0
    await asyncio.sleep(random.uniform(0, interval))
    while not stop.is_set():
        number += 1
        conversation = random.choice(person.conversations)
        client_id = f"{person.username}.{number}"
        body = {"text": f"message {number} from {person.username}", "client_id": client_id}
        while not stop.is_set():  # resend with the same client_id until answered: a resend writes nothing
            http = connections[random.choice(ports)]
            try:
                answer = await http.request(
                    "POST", f"/api/v1/conversations/{conversation}/messages", token=person.token, json_body=body
                )
            except (OSError, TimeoutError, ValueError, asyncio.IncompleteReadError):
                sent.errors += 1
                await asyncio.sleep(0.5)
                continue
            sent.statuses[answer.status] = sent.statuses.get(answer.status, 0) + 1
            if answer.status in (200, 201):
                sent.confirmed.setdefault(conversation, set()).add(client_id)
                break
            await asyncio.sleep(0.5)
        try:
            async with asyncio.timeout(interval * random.uniform(0.5, 1.5)):
                await stop.wait()
        except TimeoutError:
            pass
    for http in connections.values():
        http.close()


async def stored_messages(port: int, token: str, conversation: str) -> list[tuple[int, str, float]]:
    """(seq, client_id, created_at) of every message of the conversation, from the API."""
    http = Http(port)
    found: list[tuple[int, str, float]] = []
    after = 0
    while True:
        answer = await http.request("GET", f"/api/v1/conversations/{conversation}/messages?after={after}", token=token)
        assert answer.status == 200, answer
        page = answer.json()
        found += [
            (m["seq"], m["client_id"], datetime.fromisoformat(m["created_at"]).timestamp()) for m in page["items"]
        ]
        if not page["next"]:
            break
        after = int(page["next"])
    http.close()
    return found


@dataclass
class Outcome:
    clients: int
    conversations: int
    stored: int
    confirmed: int
    statuses: dict[int, int]
    send_errors: int
    missing: int  # (client, stored message) pairs a client does not hold at the end
    out_of_order: int  # clients whose list differs from the stored one in order or content
    doubles_on_wire: int
    resyncs: int
    reconnects: int
    catch_up_s: float  # the last member to hold a message stored before Redis came back, after it came back
    catch_up_p99_s: float
    resumes_since_break: int  # resumes the clients sent from Redis's stop on
    resumes_per_client_max: int
    resume_answer_p50_s: float  # from a resume to its resume.done, since the break
    resume_answer_max_s: float
    during_outage: int  # messages stored while Redis was down
    outage_s: float
    servers_alive: bool
    server_log_errors: int
    problems: list[str]


async def scenario(
    people: list[Person],
    ports: list[int],
    redis: PrivateRedis,
    *,
    interval: float,
    before: float,
    outage: float,
    after: float,
    settle: float,
    alive: Callable[[], bool],
    say: Callable[[str], None] = lambda line: None,
    trace: Path | None = None,
) -> Outcome:
    clients = [Client(person, ports[i % len(ports)]) for i, person in enumerate(people)]
    listening, sending = asyncio.Event(), asyncio.Event()
    sent = Sent()
    listeners = [asyncio.create_task(client.run(listening)) for client in clients]
    deadline = time.monotonic() + 60
    while sum(client.connects > 0 for client in clients) < len(clients):
        assert time.monotonic() < deadline, "clients did not all connect"
        await asyncio.sleep(0.1)
    say(f"{len(clients)} sockets connected")
    senders = [asyncio.create_task(sender(person, ports, interval, sending, sent)) for person in people]
    await asyncio.sleep(before)
    down_at = time.time()
    if outage > 0:
        await asyncio.to_thread(redis.stop)
        say("redis stopped")
        await asyncio.sleep(outage)
        await asyncio.to_thread(redis.start)
    back_at = time.time()
    say(f"redis back after {back_at - down_at:.1f} s")
    await asyncio.sleep(after)
    sending.set()
    await asyncio.gather(*senders)
    say(f"sending stopped: {sum(map(len, sent.confirmed.values()))} confirmed")

    conversations = sorted({c for person in people for c in person.conversations})
    member = {c: next(p for p in people if c in p.conversations) for c in conversations}
    stored = {c: await stored_messages(ports[0], member[c].token, c) for c in conversations}
    settle_until = time.monotonic() + settle
    while time.monotonic() < settle_until:
        if all(client.held[c] >= len(stored[c]) for client in clients for c in client.person.conversations):
            break
        await asyncio.sleep(0.2)
    listening.set()
    await asyncio.gather(*listeners)

    problems: list[str] = []
    missing = out_of_order = missing_confirmed = 0
    lateness: list[float] = []
    for c in conversations:
        expected = [(seq, client_id) for seq, client_id, _created in stored[c]]
        if [seq for seq, _ in expected] != list(range(1, len(expected) + 1)):
            problems.append(f"{c}: stored sequence numbers are not 1..n")
        stored_ids = {client_id for _, client_id in expected}
        lost = sent.confirmed.get(c, set()) - stored_ids
        if lost:
            problems.append(f"{c}: {len(lost)} confirmed messages are not stored")
        before_back = [seq for seq, _client_id, created in stored[c] if created < back_at]
        for client in clients:
            if c not in client.person.conversations:
                continue
            held = client.got[c]
            not_held = {cid for _, cid in expected} - {cid for _, cid in held}
            missing += len(not_held)
            missing_confirmed += len(not_held & sent.confirmed.get(c, set()))
            if held != expected:
                out_of_order += 1
                if out_of_order <= 5:
                    problems.append(
                        f"{client.person.username} on {client.port} holds {len(held)} of {len(expected)} in {c} "
                        f"(up to seq {client.held[c]}; resyncs {client.resyncs}, connects {client.connects}, "
                        f"closes {client.closes})"
                    )
                    if out_of_order == 1:
                        problems.append(" | ".join(client.trail))
            for seq in before_back:
                when = client.arrived.get((c, seq))
                lateness.append(max(0.0, (when if when is not None else float("inf")) - back_at))
    if missing:
        problems.append(f"{missing} (member, message) deliveries missing, {missing_confirmed} of confirmed messages")
    if out_of_order:
        problems.append(f"{out_of_order} clients hold a list other than the stored one")
    if trace is not None:  # every client's resumes and answers, for a look at where the time went
        record = {
            "down_at": down_at,
            "back_at": back_at,
            "clients": [
                {
                    "user": client.person.username,
                    "port": client.port,
                    "resumes": client.resumes,
                    "answers": client.answers,
                    "closes": client.closes,
                    "resyncs": client.resync_times,
                    "last": max(
                        (
                            client.arrived.get((c, s), float("inf"))
                            for c in client.person.conversations
                            for s, _i, cr in stored[c]
                            if cr < back_at
                        ),
                        default=0.0,
                    ),
                }
                for client in clients
            ],
        }
        trace.write_text(json.dumps(record))
    per_client = [sum(1 for when, _why, _after in client.resumes if when >= down_at) for client in clients]
    waits = [answered - asked for client in clients for asked, answered in client.answers if asked >= down_at]
    during = sum(1 for c in conversations for _s, _i, created in stored[c] if down_at <= created < back_at)
    return Outcome(
        clients=len(clients),
        conversations=len(conversations),
        stored=sum(len(v) for v in stored.values()),
        confirmed=sum(len(v) for v in sent.confirmed.values()),
        statuses=dict(sorted(sent.statuses.items())),
        send_errors=sent.errors,
        missing=missing,
        out_of_order=out_of_order,
        doubles_on_wire=sum(client.doubles for client in clients),
        resyncs=sum(client.resyncs for client in clients),
        reconnects=sum(client.connects - 1 for client in clients),
        catch_up_s=max(lateness, default=0.0),
        catch_up_p99_s=percentile(lateness, 0.99) if lateness else 0.0,
        resumes_since_break=sum(per_client),
        resumes_per_client_max=max(per_client, default=0),
        resume_answer_p50_s=percentile(waits, 0.5) if waits else 0.0,
        resume_answer_max_s=max(waits, default=0.0),
        during_outage=during,
        outage_s=back_at - down_at,
        servers_alive=alive(),
        server_log_errors=0,
        problems=problems,
    )


class Servers:
    """Two uvicorn processes on one database and a private Redis; logs in a temporary directory."""

    def __init__(self, database_url: str, redis: PrivateRedis, ports: list[int] | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="same-faults-"))
        self.ports = ports or [free_port(), free_port()]
        self.logs = [self.dir / f"server-{port}.log" for port in self.ports]
        prefix = f"faults-{secrets.token_hex(3)}"
        self.procs = [
            start_server(
                port,
                database_url=database_url,
                redis_url=redis.url,
                prefix=prefix,
                var_dir=self.dir / str(port),
                log=log,
            )
            for port, log in zip(self.ports, self.logs, strict=True)
        ]

    def wait_up(self) -> None:
        for port in self.ports:
            wait_up(port)

    def alive(self) -> bool:
        return all(proc.poll() is None for proc in self.procs)

    def tracebacks(self) -> dict[str, int]:
        """Logged exceptions by their last line, except channels_redis's receive loop reporting each failed
        reconnect while Redis is down ("Unexpected exception in receive task")."""
        kinds: dict[str, int] = {}
        for log in self.logs:
            message, raised, in_traceback = "", "", False
            for line in [*log.read_text(errors="replace").splitlines(), "end of log"]:
                if line.startswith("Traceback (most recent call last):"):
                    in_traceback = True
                elif in_traceback and EXCEPTION_LINE.match(line):
                    raised = line
                elif in_traceback and not line.startswith(" ") and line and not line.startswith("During handling"):
                    if not message.startswith("Unexpected exception in receive task"):
                        kinds[raised] = kinds.get(raised, 0) + 1
                    in_traceback = False
                if not in_traceback and not line.startswith(" "):
                    message = line
        return kinds

    def close(self, *, keep_logs: bool = False) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(timeout=30)
        if not keep_logs:
            shutil.rmtree(self.dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--group-size", type=int, default=10)
    parser.add_argument("--interval", type=float, default=4.0, help="seconds between one person's messages")
    parser.add_argument("--before", type=float, default=15.0)
    parser.add_argument("--outage", type=float, default=5.0)
    parser.add_argument("--after", type=float, default=20.0)
    parser.add_argument("--settle", type=float, default=30.0)
    parser.add_argument("--catch-up", type=float, default=15.0)
    parser.add_argument("--ports", help="the two servers' ports, e.g. 8400,8401 (default: free ones)")
    parser.add_argument("--redis-port", type=int, help="the private redis-server's port (default: a free one)")
    parser.add_argument("--trace", type=Path, help="write every client's resumes, answers and resyncs here (JSON)")
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ or not os.environ["DATABASE_URL"].startswith("postgres"):
        raise SystemExit("set DATABASE_URL to a PostgreSQL database of your own (see the docstring)")
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    people = seed(args.clients, args.group_size)
    redis = PrivateRedis(args.redis_port)
    redis.start()
    ports = [int(port) for port in args.ports.split(",")] if args.ports else None
    if ports is not None and len(ports) != 2:
        raise SystemExit("--ports takes two ports, e.g. 8400,8401")
    servers = Servers(os.environ["DATABASE_URL"], redis, ports)
    try:
        servers.wait_up()
        started = time.monotonic()
        load_before = os.getloadavg()
        outcome = asyncio.run(
            scenario(
                people,
                servers.ports,
                redis,
                interval=args.interval,
                before=args.before,
                outage=args.outage,
                after=args.after,
                settle=args.settle,
                alive=servers.alive,
                say=lambda line: print(f"[{time.monotonic() - started:6.1f} s] {line}", flush=True),
                trace=args.trace,
            )
        )
        outcome.server_log_errors = sum(servers.tracebacks().values())
        print(json.dumps(outcome.__dict__, indent=1))
        print(f"tracebacks in server logs (other than Redis reconnects): {servers.tracebacks()}")
        print(f"load average before {load_before}, after {os.getloadavg()}")
        ok = not outcome.problems and outcome.servers_alive and outcome.catch_up_s <= args.catch_up
        print("PASS" if ok else "FAIL")
    finally:
        servers.close()
        redis.remove()


if __name__ == "__main__":
    main()
