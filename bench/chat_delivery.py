"""Chat delivery: how fast a stored message reaches the other sockets, with N clients on one ASGI worker.

    createdb -h 127.0.0.1 -U postgres bench_chat   # once
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_chat .venv/bin/python bench/chat_delivery.py \\
        --clients 1000 --layers memory,redis

Seeds N people with app tokens, N/2 active direct conversations (person 2i with 2i+1) and one
active group conversation whose first G people are members (rows written with the ORM). Starts one
uvicorn process (`same.asgi:application`) per channel layer — in memory, or channels_redis at
--redis-url — and connects the N WebSocket clients from separate receiver processes (the
`websockets` library, one asyncio loop each). This process sends messages over HTTP,
`POST /api/v1/conversations/{id}/messages` with bearer tokens, on keep-alive connections, and
puts its clock in each `client_id`; receivers note when each `message.new` arrives. With
`--send-over ws` (paced phases) each message is instead a `send` frame on its sender's own socket, sent by
the receiver process holding it (chat/realtime.py; the floor answers the same frame): the issue's floor, a
consumer broadcasting what a socket says, against the app doing the same with persistence and checks.

Phases, each `--duration` long:
  pairs-max    1:1, as fast as --connections concurrent senders go (each side sends in turn)
  pairs-paced  1:1, at --pace × the rate pairs-max reached
  group-max    the group, senders rotating over --group-senders members
  group-paced  the group, at --pace × the rate group-max reached

Reported per phase: messages stored (201) per second, deliveries per second (every member's socket,
the sender's own included, as the server sends them), latency from send to arrival at another
person's socket (p50/p99/max), from the message's `created_at` (stored, before commit) to arrival,
and the HTTP answer time; the server's and the clients' CPU, and the load average (`uptime`).
Only 127.0.0.1 is contacted; every loop is bounded in time.
"""

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import ROOT, bench_people, cpu_seconds, free_port, out, percentile

PREFIX = "deliv"
EXPERIMENTS = ("redis-no-timeout", "redis-pubsub")  # channel layers that are not a setting of the app: serve()
FLOORS = ("floor-memory", "floor-redis")  # bench/chat_floor.py: bare Channels, no database, same wire protocol
STORED_FLOORS = ("floor-stored-memory", "floor-stored-redis")  # the same, each text first stored: one durable INSERT
# The app served with uvicorn's own WebSocket protocol (a compression per socket per event) instead of the app's
# `core.ws_protocol.SharedFrameProtocol` (one compressed frame per event): for before/after in one run.
UVICORN_WS = ("memory-uvicorn-ws", "redis-uvicorn-ws")
APP_WS = "core.ws_protocol:SharedFrameProtocol"
PHASES = {"pairs-max": "pm", "pairs-paced": "pp", "group-max": "gm", "group-paced": "gp"}


# --- seeding (this process, with Django) -------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    usernames: list[str]
    tokens: list[str]
    pairs: list[str]  # conversation public ids; pair i is person 2i and 2i+1
    group: str
    group_size: int


def seed(clients: int, group_size: int) -> Seeded:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")
    django.setup()
    from django.db import transaction

    from chat.models import Conversation, Participant

    started = time.perf_counter()
    with transaction.atomic():
        Conversation.objects.filter(participants__user__username__startswith=f"{PREFIX}_").distinct().delete()
        users, tokens = bench_people(PREFIX, clients, label="delivery")
        pairs = Conversation.objects.bulk_create(
            [Conversation(kind="direct", state="active", started_by=users[2 * i]) for i in range(clients // 2)]
        )
        Participant.objects.bulk_create(
            [Participant(conversation=c, user=users[2 * i + side]) for i, c in enumerate(pairs) for side in (0, 1)],
            batch_size=5000,
        )
        group = Conversation.objects.create(kind="group", state="active", started_by=users[0])
        Participant.objects.bulk_create([Participant(conversation=group, user=u) for u in users[:group_size]])
    vacuumed = _vacuum()
    out(
        f"seeded {clients:,} people with tokens, {len(pairs):,} direct conversations and a group of "
        f"{group_size} in {time.perf_counter() - started:.1f} s{vacuumed}"
    )
    return Seeded([u.username for u in users], tokens, [c.public_id for c in pairs], group.public_id, group_size)


def _vacuum() -> str:
    """On PostgreSQL, VACUUM (ANALYZE) the tables a send reads and writes, as autovacuum keeps them in a database that
    runs: this machine's PostgreSQL runs without it (the CI's conf.d), and each run deletes the last run's
    conversations, so dead rows and statistics never read would pile up from run to run. With 17,000 dead versions
    of 251 conversation rows, a send's round trip took ~0.4 ms more at p50 here, and paused for 100–400 ms in 5 of 14
    batches of 550 sends, against 1 in 18 once vacuumed (stop 23, docs/performance.md)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return ""
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in VACUUMED:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    return f"; vacuumed and analyzed in {time.perf_counter() - started:.1f} s"


VACUUMED = (
    "chat_conversation",
    "chat_participant",
    "chat_message",
    "accounts_user",
    "accounts_accesstoken",
    "moderation_block",
    "push_pushsubscription",
)


# --- receivers (separate processes, no Django) -------------------------------------------------


@dataclass
class PhaseLog:
    other_us: list[int] = field(default_factory=list)  # send -> arrival, at someone else's socket
    stored_us: list[int] = field(default_factory=list)  # created_at -> arrival, same deliveries
    echoes: int = 0  # the sender's own socket
    first: float = 0.0
    last: float = 0.0


async def receiver(url: str, origin: str, accounts: list[tuple[str, str]], deflate: bool) -> None:
    """Connect every account's socket, say READY, record message.new arrivals until stdin says STOP."""
    from websockets.asyncio.client import ClientConnection, connect

    logs: dict[str, PhaseLog] = {}
    sockets: list[ClientConnection] = []
    errors: list[str] = []
    gate = asyncio.Semaphore(50)

    sent = SendLog()
    outstanding: set[str] = set()

    async def listen(ws: ClientConnection, username: str) -> None:
        async for frame in ws:
            now = time.time()
            if '"message.new"' not in frame:
                if '"sent"' in frame or '"error"' in frame:  # the answer to a `send` frame (--send-over ws)
                    answer = json.loads(frame)
                    client_id = (answer.get("message") or {}).get("client_id") or answer.get("client_id", "")
                    if client_id in outstanding:
                        outstanding.discard(client_id)
                        sent.answer_us.append(int(now * 1e6 - int(client_id.split(".")[2]) / 1e3))
                        status = (201 if answer.get("created") else 200) if answer["type"] == "sent" else 0
                        sent.statuses[status] = sent.statuses.get(status, 0) + 1
                continue
            event = json.loads(frame)
            message = event["message"]
            phase, _n, sent_ns = message["client_id"].split(".")
            log = logs.setdefault(phase, PhaseLog(first=now))
            log.last = now
            if message["sender"]["username"] == username:
                log.echoes += 1
                continue
            log.other_us.append(int(now * 1e6 - int(sent_ns) / 1e3))
            created = datetime.fromisoformat(message["created_at"]).timestamp()
            log.stored_us.append(int((now - created) * 1e6))

    async def open_one(username: str, token: str) -> None:
        async with gate:
            for attempt in range(5):
                try:
                    ws = await connect(
                        url,
                        origin=origin,  # type: ignore[arg-type]
                        compression="deflate" if deflate else None,
                        ping_interval=None,
                        max_queue=None,
                        open_timeout=30,
                    )
                    await ws.send(json.dumps({"type": "auth", "token": token}))
                    answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
                    if answer.get("type") != "auth.ok":
                        raise RuntimeError(f"auth answered {answer}")
                    sockets.append(ws)
                    by_token[token] = ws
                    tasks.append(asyncio.create_task(listen(ws, username)))
                    return
                except (OSError, TimeoutError, RuntimeError) as error:
                    if attempt == 4:
                        errors.append(f"{username}: {error!r}")
                    await asyncio.sleep(0.5 * (attempt + 1))

    async def send_frames(spec: dict[str, Any]) -> None:
        """Send each job's `send` frame from its person's socket at its time (`start` + n / `rate`, wall clock),
        then wait for the answers (at most 30 s)."""
        sent.statuses, sent.answer_us = {}, []
        for n, conversation, token in spec["jobs"]:
            await asyncio.sleep(max(0.0, spec["start"] + n / spec["rate"] - time.time()))
            sent_ns = time.time_ns()
            client_id = f"{spec['code']}.{n}.{sent_ns}"
            outstanding.add(client_id)
            frame = {"type": "send", "conversation_id": conversation, "text": f"delivery {spec['code']} {n}"}
            await by_token[token].send(json.dumps(frame | {"client_id": client_id}))
        deadline = time.monotonic() + 30
        while outstanding and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    by_token: dict[str, ClientConnection] = {}
    tasks: list[asyncio.Task[None]] = []
    await asyncio.gather(*(open_one(u, t) for u, t in accounts))
    sys.stdout.write(json.dumps({"ready": len(sockets), "errors": errors[:5]}) + "\n")
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)  # a SEND line lists every job of the phase
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if line.startswith("SEND "):
            await send_frames(json.loads(line.removeprefix("SEND ")))
            sys.stdout.write(json.dumps({"sent": sent.__dict__, "unanswered": len(outstanding)}) + "\n")
            sys.stdout.flush()
            outstanding.clear()
            continue
        if line == "COUNT" or not line or line == "STOP":
            counts = {p: len(log.other_us) + log.echoes for p, log in logs.items()}
            if line == "COUNT":
                sys.stdout.write(json.dumps({"counts": counts}) + "\n")
                sys.stdout.flush()
                continue
            break
    closed = sum(1 for ws in sockets if ws.close_code is not None)
    codes: dict[str, int] = {}
    for ws in sockets:
        if ws.close_code is not None:
            why = f"{ws.close_code} {ws.close_reason}".strip()
            codes[why] = codes.get(why, 0) + 1
    result = {p: log.__dict__ for p, log in logs.items()}
    sys.stdout.write(json.dumps({"logs": result, "closed_early": closed, "close_codes": codes}) + "\n")
    sys.stdout.flush()
    for ws in sockets:
        await ws.close()


def receiver_main(args: argparse.Namespace) -> None:
    accounts = [tuple(line.split(" ", 1)) for line in Path(args.accounts).read_text().splitlines() if line]
    asyncio.run(receiver(args.url, args.origin, [(a[0], a[1]) for a in accounts], not args.no_deflate))


# --- sending (this process): a small HTTP/1.1 keep-alive client ------------------------------


class Http:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, token: str, body: bytes) -> int:
        """POST and return the status. A keep-alive connection the server closed is reopened and the request
        sent again: harmless, since a resend with the same client_id writes nothing."""
        for _attempt in range(3):
            try:
                return await self._post(path, token, body)
            except (ConnectionError, IndexError, asyncio.IncompleteReadError):
                self.close()
        raise ConnectionError("the server closed the connection three times")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def _post(self, path: str, token: str, body: bytes) -> int:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status_line = await self.reader.readline()
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                await self.reader.readexactly(size + 2)
            await self.reader.readline()
        if headers.get("connection") == "close":
            self.close()
        return int(status_line.split()[1])


@dataclass
class SendLog:
    statuses: dict[int, int] = field(default_factory=dict)
    answer_us: list[int] = field(default_factory=list)
    seconds: float = 0.0


async def send_phase(
    ports: list[int], code: str, jobs: list[tuple[str, str]], connections: int, duration: float, rate: float | None
) -> SendLog:
    """Send for `duration` seconds, cycling through `jobs` (conversation id, sender's token): closed loop
    on `connections` keep-alive connections, or, with `rate`, one send every 1/rate s (never more than
    `connections` at once)."""
    log = SendLog()
    counter = iter(range(10**9))
    start = time.perf_counter()
    deadline = start + duration

    async def worker(http: Http, slot: int) -> None:
        while True:
            n = next(counter)
            if rate is not None:
                due = start + n / rate
                if due >= deadline:
                    return
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            elif time.perf_counter() >= deadline:
                return
            conversation, token = jobs[n % len(jobs)]
            sent_ns = time.time_ns()
            body = json.dumps({"text": f"delivery {code} {n}", "client_id": f"{code}.{n}.{sent_ns}"}).encode()
            status = await http.post(f"/api/v1/conversations/{conversation}/messages", token, body)
            log.answer_us.append((time.time_ns() - sent_ns) // 1000)
            log.statuses[status] = log.statuses.get(status, 0) + 1

    await asyncio.gather(*(worker(Http(ports[i % len(ports)]), i) for i in range(connections)))
    log.seconds = time.perf_counter() - start
    return log


# --- the run ---------------------------------------------------------------------------------


class Receivers:
    def __init__(self, ports: list[int], seeded: Seeded, procs: int, deflate: bool) -> None:
        """`procs` receiver processes per server; the accounts are dealt over servers and processes."""
        self.files: list[str] = []
        self.procs: list[subprocess.Popen[str]] = []
        accounts = list(zip(seeded.usernames, seeded.tokens, strict=True))
        procs *= len(ports)
        self.holder = {token: i % procs for i, (_u, token) in enumerate(accounts)}  # token → its receiver process
        for shard in range(procs):
            port = ports[shard % len(ports)]
            with tempfile.NamedTemporaryFile("w", suffix=".accounts", delete=False) as handle:
                handle.write("\n".join(f"{u} {t}" for u, t in accounts[shard::procs]))
                self.files.append(handle.name)
            command = [
                sys.executable,
                __file__,
                "--receiver",
                "--url",
                f"ws://127.0.0.1:{port}/ws/",
                "--origin",
                f"http://127.0.0.1:{port}",
                "--accounts",
                handle.name,
            ]
            if not deflate:
                command.append("--no-deflate")
            self.procs.append(
                subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
            )

    def _ask(self, line: str) -> list[dict[str, Any]]:
        answers = []
        for proc in self.procs:
            assert proc.stdin is not None
            assert proc.stdout is not None
            if line:
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
            answers.append(json.loads(proc.stdout.readline()))
        return answers

    def send_frames(self, code: str, jobs: list[tuple[str, str]], duration: float, rate: float) -> SendLog:
        """Paced sends over the WebSocket (--send-over ws): each message is a `send` frame from its sender's own
        socket, held by a receiver process, at one every 1/rate s; its answer (`sent`) is timed there."""
        count = int(duration * rate)
        start = time.time() + 1.0
        shares: list[list[tuple[int, str, str]]] = [[] for _ in self.procs]
        for n in range(count):
            conversation, token = jobs[n % len(jobs)]
            shares[self.holder[token]].append((n, conversation, token))
        for proc, share in zip(self.procs, shares, strict=True):
            assert proc.stdin is not None
            spec = {"code": code, "start": start, "rate": rate, "jobs": share}
            proc.stdin.write("SEND " + json.dumps(spec) + "\n")
            proc.stdin.flush()
        log = SendLog()
        for proc in self.procs:
            assert proc.stdout is not None
            part = json.loads(proc.stdout.readline())["sent"]
            log.answer_us += part["answer_us"]
            for status, number in part["statuses"].items():
                log.statuses[int(status)] = log.statuses.get(int(status), 0) + number
        log.seconds = time.time() - start
        return log

    def ready(self) -> int:
        answers = self._ask("")
        for answer in answers:
            if answer["errors"]:
                out("connect errors:", answer["errors"])
        return sum(int(a["ready"]) for a in answers)

    def count(self, code: str) -> int:
        return sum(int(a["counts"].get(code, 0)) for a in self._ask("COUNT"))

    def stop(self) -> tuple[dict[str, PhaseLog], int]:
        merged: dict[str, PhaseLog] = {}
        closed = 0
        for answer in self._ask("STOP"):
            closed += int(answer["closed_early"])
            if answer.get("close_codes"):
                out("closed sockets by close code and reason:", answer["close_codes"])
            for code, raw in answer["logs"].items():
                log = merged.setdefault(code, PhaseLog(first=raw["first"], last=raw["last"]))
                log.other_us += raw["other_us"]
                log.stored_us += raw["stored_us"]
                log.echoes += raw["echoes"]
                log.first, log.last = min(log.first, raw["first"]), max(log.last, raw["last"])
        return merged, closed

    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
            proc.wait(timeout=30)
        for name in self.files:
            Path(name).unlink(missing_ok=True)


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server at {url} did not come up")


def start_server(
    port: int, layer: str, redis_url: str, log: Path, prefix: str, members: str, trace: Path | None = None
) -> subprocess.Popen[bytes]:
    """uvicorn, one process. "redis-no-timeout" and "redis-pubsub" run it through `serve()` below with
    another channel-layer configuration (experiments, not settings of the app); the floors run
    bench/chat_floor.py instead of the app. Processes of one layer share `prefix` (and so their events).
    `trace`: the steps of each text stamped, into this directory (bench/chat_trace.py)."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "same.settings", "LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    if "redis" in layer:
        env["REDIS_URL"] = redis_url
        env["CACHE_PREFIX"] = prefix  # fresh rate-limit counters, events apart from other runs
    app = "same.asgi:application"
    if layer in FLOORS + STORED_FLOORS:
        env["FLOOR_MEMBERS"] = members
        app = "bench.chat_floor:application"
    if layer in STORED_FLOORS:
        env["FLOOR_STORE_DSN"] = os.environ["DATABASE_URL"]
    ws = "auto" if layer in FLOORS + STORED_FLOORS or layer in UVICORN_WS else APP_WS
    if trace is not None and layer not in EXPERIMENTS:
        command = [sys.executable, __file__, "--traced-app", app, "--ws", ws, "--port", str(port)]
        command += ["--trace-dir", str(trace)]
    elif layer in EXPERIMENTS:
        command = [sys.executable, __file__, "--serve", layer, "--port", str(port)]
    else:
        command = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1"]
        command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
        if ws != "auto":
            command += ["--ws", ws]  # as `manage.py serve` runs it
    with log.open("wb") as sink:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, start_new_session=True, stderr=sink, stdout=sink, preexec_fn=_server_priority
        )


SERVER_NICENESS = os.getpriority(os.PRIO_PROCESS, 0)  # the niceness this script started with


def _server_priority() -> None:
    """In a server process before it starts: back to the niceness the script started with, when --client-nice
    lowered the clients' (possible as root only; otherwise the server keeps the clients' niceness)."""
    with contextlib.suppress(PermissionError):
        os.setpriority(os.PRIO_PROCESS, 0, SERVER_NICENESS)


def serve(layer: str, port: int) -> None:
    """The app as `python -m uvicorn` runs it, with the channel layer changed before Django reads its settings.

    redis-no-timeout: `socket_timeout=None` on the layer's Redis connections. redis-py 8 reads with a 5 s
    timeout by default, as long as channels_redis's BZPOPMIN wait, so an idle receive loop times out and
    takes a consumer (and its socket) down with it.
    redis-pubsub: channels_redis's RedisPubSubChannelLayer: a group_send is one PUBLISH, and each process
    reads one subscription stream instead of popping every message with a round trip."""
    import uvicorn

    from same import settings

    layers: dict[str, Any] = settings.CHANNEL_LAYERS
    config = layers["default"]["CONFIG"]
    if layer == "redis-no-timeout":
        config["hosts"] = [{"address": config["hosts"][0], "socket_timeout": None}]
    elif layer == "redis-pubsub":
        layers["default"]["BACKEND"] = "channels_redis.pubsub.RedisPubSubChannelLayer"
    uvicorn.run("same.asgi:application", host="127.0.0.1", port=port, access_log=False, log_level="warning", ws=APP_WS)


def server_rss_mb(pid: int) -> float:
    """Resident memory of a server process, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_errors(log: Path) -> str:
    """How many times the server logged an exception, and the last line of the most frequent kind."""
    text = log.read_text(errors="replace")
    finals = [line for line in text.splitlines() if line and not line[0].isspace() and "Error" in line.split(":")[0]]
    if not finals:
        return "none"
    common = max(set(finals), key=finals.count)
    return (
        f"{text.count('Exception in ASGI application')} ASGI exceptions; most often: {common} ({finals.count(common)})"
    )


def ms(us: float) -> str:
    return f"{us / 1000:,.1f}"


def floor_members(seeded: Seeded) -> str:
    """The floor's token → [username, conversation ids] file: the same people and conversations as the app's."""
    members: dict[str, list[Any]] = {t: [u, []] for u, t in zip(seeded.usernames, seeded.tokens, strict=True)}
    for i, conversation in enumerate(seeded.pairs):
        for side in (0, 1):
            members[seeded.tokens[2 * i + side]][1].append(conversation)
    for token in seeded.tokens[: seeded.group_size]:
        members[token][1].append(seeded.group)
    with tempfile.NamedTemporaryFile("w", suffix=".members.json", delete=False) as handle:
        json.dump(members, handle)
    return handle.name


WARM_UP_RATE = 50.0  # frames per second of the warm-up (not measured)


def warm_up(receivers: "Receivers", jobs: list[tuple[str, str]]) -> None:
    """--warm-up: one text from each sender to each of its conversations before anything is measured, as a server
    that has run a while has seen them: a process's first text to a conversation looks the conversation up
    (chat/loop_send.py), and the loop's connections open as first needed. Its deliveries are waited for and
    counted under a code of their own, in no row."""
    unique = list(dict.fromkeys(jobs))
    receivers.send_frames("wu", unique, len(unique) / WARM_UP_RATE, WARM_UP_RATE)
    deadline, last = time.monotonic() + 30, -1
    while time.monotonic() < deadline:
        got = receivers.count("wu")
        if got == last:
            break
        last = got
        time.sleep(1.0)
    out(f"warmed up: {len(unique)} texts sent first, {last} deliveries")


def run_layer(layer: str, args: argparse.Namespace, seeded: Seeded, round_: int = 1) -> list[dict[str, Any]]:
    count = args.redis_procs if "redis" in layer else 1
    ports = [args.port_base + i if args.port_base else free_port() for i in range(count)]
    prefix = f"{args.prefix}-{secrets.token_hex(4)}"
    members = floor_members(seeded) if layer in FLOORS + STORED_FLOORS else ""
    logs_at = [Path(tempfile.gettempdir()) / f"chat-delivery-{layer}-{port}.log" for port in ports]
    trace = Path(tempfile.mkdtemp(prefix=f"chat-trace-{layer}-")) if args.trace else None
    servers = [
        start_server(port, layer, args.redis_url, log, prefix, members, trace)
        for port, log in zip(ports, logs_at, strict=True)
    ]
    server = servers[0]
    receivers: Receivers | None = None
    rows: list[dict[str, Any]] = []
    try:
        for port in ports:
            wait_until_up(f"http://127.0.0.1:{port}/healthz")
        started = time.perf_counter()
        receivers = Receivers(ports, seeded, args.receiver_procs, not args.no_deflate)
        connected = receivers.ready()
        rss = sum(server_rss_mb(s.pid) for s in servers)
        out(
            f"[{layer}] {connected:,} sockets connected and authenticated to {len(ports)} server process(es) "
            f"in {time.perf_counter() - started:.1f} s; server memory (RSS) {rss:,.0f} MB"
        )
        active = seeded.pairs[: args.pairs] if args.pairs is not None else seeded.pairs
        pair_jobs = [(c, seeded.tokens[2 * i + side]) for side in (0, 1) for i, c in enumerate(active)]
        group_jobs = [(seeded.group, seeded.tokens[i]) for i in range(min(args.group_senders, seeded.group_size))]
        max_rate: dict[str, float] = {}
        if args.warm_up:
            kinds = {phase.split("-")[0] for phase in args.phases}
            warm_up(receivers, [*(pair_jobs if "pairs" in kinds else []), *(group_jobs if "group" in kinds else [])])
        for phase in args.phases:
            kind, mode = phase.split("-")
            code = PHASES[phase]
            jobs = pair_jobs if kind == "pairs" else group_jobs
            fanout = 2 if kind == "pairs" else seeded.group_size
            rate = None
            if mode == "paced":
                rate = args.pace * max_rate.get(kind, 0) or args.rate
            time.sleep(args.settle)
            load_before = os.getloadavg()[0]
            watched = [*(s.pid for s in servers), *receivers.pids()]
            cpu_before = {pid: cpu_seconds(pid) for pid in watched}
            me_before = time.process_time()
            wall = time.perf_counter()
            if args.send_over == "ws":
                if rate is None:
                    raise SystemExit("--send-over ws sends paced phases only (with --rate)")
                sent = receivers.send_frames(code, jobs, args.duration, rate)
            else:
                sent = asyncio.run(send_phase(ports, code, jobs, args.connections, args.duration, rate))
            created = sent.statuses.get(201, 0)
            expected = created * fanout
            # Wait until every delivery arrived, none arrived for 5 s, or --drain s passed.
            deadline, last, still = time.monotonic() + args.drain, -1, 0
            while time.monotonic() < deadline:
                got = receivers.count(code)
                still = still + 1 if got == last else 0
                if got >= expected or still >= 5:
                    break
                last = got
                time.sleep(1.0)
            wall = time.perf_counter() - wall
            cpu = {pid: (cpu_seconds(pid) - cpu_before[pid]) / wall * 100 for pid in watched}
            me = (time.process_time() - me_before) / wall * 100
            if mode == "max":
                max_rate[kind] = created / sent.seconds
            rows.append(
                {
                    "layer": layer,
                    "phase": phase,
                    "code": code,
                    "rate": rate,
                    "created": created,
                    "expected": expected,
                    "statuses": sent.statuses,
                    "send_seconds": sent.seconds,
                    "answer_p50_us": percentile([float(v) for v in sent.answer_us], 0.5),
                    "answer_p99_us": percentile([float(v) for v in sent.answer_us], 0.99),
                    "server_cpu": sum(cpu[s.pid] for s in servers),
                    "server_cpu_s": sum(cpu[s.pid] for s in servers) * wall / 100,
                    "clients_cpu": sum(cpu[p] for p in receivers.pids()) + me,
                    "load_before": load_before,
                    "load_after": os.getloadavg()[0],
                }
            )
            out(f"[{layer}] {phase}: {created:,} messages stored in {sent.seconds:.1f} s; statuses {sent.statuses}")
        logs, closed = receivers.stop()
        errors = "; ".join(f"{server_errors(log)} ({log})" for log in logs_at)
        out(f"[{layer}] sockets closed by the server during the run: {closed}; server errors: {errors}")
        for row in rows:
            log = logs.get(row["code"], PhaseLog())
            delivered = len(log.other_us) + log.echoes
            span = max(log.last - log.first, 1e-9)
            row |= {
                "delivered": delivered,
                "missing": row["expected"] - delivered,
                "deliveries_per_s": delivered / span if delivered else 0.0,
                "p50_us": percentile([float(v) for v in log.other_us], 0.5),
                "p99_us": percentile([float(v) for v in log.other_us], 0.99),
                "other_us": log.other_us,  # pooled over rounds by `ratios`
                "max_us": max(log.other_us, default=0),
                "stored_p50_us": percentile([float(v) for v in log.stored_us], 0.5),
                "stored_p99_us": percentile([float(v) for v in log.stored_us], 0.99),
            }
    finally:
        if receivers is not None:
            receivers.close()
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        if members:
            Path(members).unlink(missing_ok=True)
    if trace is not None:
        from bench import chat_trace

        for row in rows:
            label = f"[{layer}] {row['phase']}, round {round_}: the steps of a text (bench/chat_trace.py)"
            row["trace"] = chat_trace.report(trace, row["code"], label)
    return rows


def table(rows: list[dict[str, Any]]) -> None:
    out(
        "| layer | phase | sent msg/s | deliveries/s | p50 ms | p99 ms | max ms | stored→arrival p50 / p99 ms "
        "| HTTP answer p50 / p99 ms | delivered / expected | server CPU | server CPU µs per delivery | clients CPU | load |"
    )
    out("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        other = {s: n for s, n in r["statuses"].items() if int(s) != 201}
        out(
            f"| {r['layer']} r{r.get('round', 1)} | {r['phase']} | {r['created'] / r['send_seconds']:,.1f} | {r['deliveries_per_s']:,.0f} "
            f"| {ms(r['p50_us'])} | {ms(r['p99_us'])} | {ms(r['max_us'])} "
            f"| {ms(r['stored_p50_us'])} / {ms(r['stored_p99_us'])} | {ms(r['answer_p50_us'])} / {ms(r['answer_p99_us'])} "
            f"| {r['delivered']:,} / {r['expected']:,}{' ' + json.dumps(other) if other else ''} "
            f"| {r['server_cpu']:.0f}% | {r['server_cpu_s'] * 1e6 / max(r['delivered'], 1):,.0f} "
            f"| {r['clients_cpu']:.0f}% | {r['load_before']:.2f} → {r['load_after']:.2f} |"
        )


def _bases(layer: str) -> list[str]:
    """The floors a row is set against: an app's, its floor and its stored floor; a stored floor, its floor."""
    if layer in FLOORS:
        return []
    if layer in STORED_FLOORS:
        return [f"floor-{layer.removeprefix('floor-stored-')}"]
    kind = layer.removesuffix("-uvicorn-ws")
    return [f"floor-{kind}", f"floor-stored-{kind}"]


def ratios(rows: list[dict[str, Any]]) -> None:
    """Each row's p99 over the p99 of its floors (same layer kind, phase and round): the goal is ≤ 1.5 against the
    floor. Against the stored floor: how much of the app's time is more than storing the text at all."""
    by_key = {(r["layer"], r["phase"], r.get("round")): r for r in rows}
    lines = []
    for r in rows:
        for base in _bases(r["layer"]):
            floor = by_key.get((base, r["phase"], r.get("round")))
            if floor is None or not floor["p99_us"]:
                continue
            lines.append(
                f"| {r['layer']} | {r['phase']} | {r.get('round')} | {base} | {ms(floor['p99_us'])} | {ms(r['p99_us'])} "
                f"| **{r['p99_us'] / floor['p99_us']:.2f}** | {ms(floor['p50_us'])} | {ms(r['p50_us'])} |"
            )
    # Every round's deliveries together: a p99 of a few hundred deliveries is their 3rd slowest, and on an idle
    # machine the floor's alone moves 2× between rounds; pooled, it is the 1% of all of them.
    pooled: dict[tuple[str, str], list[int]] = {}
    for r in rows:
        pooled.setdefault((r["layer"], r["phase"]), []).extend(r.get("other_us", []))
    for (layer, phase), app in pooled.items():
        rounds = sum(1 for r in rows if r["layer"] == layer and r["phase"] == phase)
        for base in _bases(layer):
            floor_us = pooled.get((base, phase))
            if not floor_us or not app or rounds < 2:
                continue
            floor_p99 = percentile([float(v) for v in floor_us], 0.99)
            app_p99 = percentile([float(v) for v in app], 0.99)
            lines.append(
                f"| {layer} | {phase} | all {rounds} ({len(app)} deliveries) | {base} | {ms(floor_p99)} | {ms(app_p99)} "
                f"| **{app_p99 / floor_p99:.2f}** | {ms(percentile([float(v) for v in floor_us], 0.5))} "
                f"| {ms(percentile([float(v) for v in app], 0.5))} |"
            )
    if lines:
        out("| layer | phase | round | against | its p99 ms | p99 ms | ÷ its p99 | its p50 ms | p50 ms |")
        out("|---|---|---:|---|---:|---:|---:|---:|---:|")
        for line in lines:
            out(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000, help="sockets (and people); even")
    parser.add_argument("--group-size", type=int, default=200)
    parser.add_argument("--group-senders", type=int, default=50, help="members who take turns sending to the group")
    parser.add_argument(
        "--layers",
        default="memory,redis",
        help="any of memory, redis, floor-memory, floor-redis, floor-stored-memory, floor-stored-redis, redis-no-timeout, redis-pubsub, memory-uvicorn-ws, "
        "redis-uvicorn-ws (the app on uvicorn's own WebSocket protocol, without the shared frames)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--prefix", default="bench-delivery", help="Redis prefix (CACHE_PREFIX) of the servers")
    parser.add_argument("--redis-procs", type=int, default=1, help="server processes for the Redis layers")
    parser.add_argument("--pairs", type=int, help="1:1 pairs that send (default: all of them)")
    parser.add_argument("--rounds", type=int, default=1, help="run the --layers list this many times, interleaved")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"any of {', '.join(PHASES)}")
    parser.add_argument("--connections", type=int, default=8, help="concurrent HTTP senders")
    parser.add_argument(
        "--send-over",
        choices=("http", "ws"),
        default="http",
        help="send with POST …/messages, or with a `send` frame on the sender's own socket (paced phases only)",
    )
    parser.add_argument("--duration", type=float, default=15.0, help="seconds of sending per phase")
    parser.add_argument("--pace", type=float, default=0.5, help="paced phases: this fraction of the max rate")
    parser.add_argument("--rate", type=float, default=10.0, help="paced rate (msg/s) when its max phase did not run")
    parser.add_argument("--settle", type=float, default=3.0, help="pause before each phase")
    parser.add_argument(
        "--warm-up",
        action="store_true",
        help="with --send-over ws: one unmeasured text from each sender to each conversation first (a running server)",
    )
    parser.add_argument("--drain", type=float, default=60.0, help="wait at most this long for deliveries")
    parser.add_argument("--receiver-procs", type=int, default=1, help="processes holding the sockets")
    parser.add_argument("--no-deflate", action="store_true", help="no permessage-deflate (browsers do use it)")
    parser.add_argument(
        "--port-base", type=int, help="servers listen on this port and the next ones (default: any free)"
    )
    parser.add_argument(
        "--client-nice",
        type=int,
        default=0,
        help="run this process and the receivers this much nicer than the servers (servers keep the start's niceness)",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="stamp each text's steps in the servers and print where its time went (bench/chat_trace.py)",
    )
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=EXPERIMENTS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--traced-app", help=argparse.SUPPRESS)
    parser.add_argument("--ws", help=argparse.SUPPRESS)
    parser.add_argument("--trace-dir", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    parser.add_argument("--accounts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, 4 * args.clients + 1024)) if hard != resource.RLIM_INFINITY else 4 * args.clients + 1024
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))  # inherited by the server and receivers
    if args.receiver:
        receiver_main(args)
        return
    if args.serve:
        serve(args.serve, args.port)
        return
    if args.traced_app:
        from bench import chat_trace

        chat_trace.serve(args.traced_app, args.port, args.ws, Path(args.trace_dir))
        return
    args.phases = [p for p in args.phases.split(",") if p]
    if args.client_nice:
        os.nice(args.client_nice)  # the receivers inherit it; start_server puts the servers back
    if unknown := [p for p in args.phases if p not in PHASES]:
        raise SystemExit(f"unknown phases: {unknown}")
    if args.group_size > args.clients:
        raise SystemExit("--group-size is at most --clients")
    seeded = seed(args.clients, args.group_size)
    from django.db import connection

    out(
        f"database: {connection.vendor}; clients: {args.clients:,}; group: {args.group_size} members, "
        f"{args.group_senders} senders; sent over {args.send_over}"
        f"{f' ({args.connections} connections)' if args.send_over == 'http' else ''}; {args.duration:.0f} s per phase; "
        f"deflate: {not args.no_deflate}; receiver processes: {args.receiver_procs}; "
        f"clients nicer than the servers by {args.client_nice}"
    )
    connection.close()
    rows: list[dict[str, Any]] = []
    layers = [name for name in args.layers.split(",") if name]
    known = ("memory", "redis", *EXPERIMENTS, *FLOORS, *STORED_FLOORS, *UVICORN_WS)
    if unknown_layers := [layer for layer in layers if layer not in known]:
        raise SystemExit(f"unknown layers {unknown_layers}")
    if set(layers) & set(STORED_FLOORS) and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("the stored floors write to PostgreSQL: set DATABASE_URL=postgres://…")
    for round_ in range(1, args.rounds + 1):
        for layer in layers:
            rows += [row | {"round": round_} for row in run_layer(layer, args, seeded, round_)]
    table(rows)
    ratios(rows)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
