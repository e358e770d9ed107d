"""Measure the main list pages on ONE uvicorn worker, beside /healthz as the floor.

Usage (from the repository root, after bench/seed.py):

    .venv/bin/python bench/run.py                       # reads bench/.bench-env
    .venv/bin/python bench/run.py --duration 30s --connections 64 --only home,api-feed

It starts `uvicorn same.asgi:application` (one process, no reload, no access log) on a free port
of 127.0.0.1 with the database the seed used, checks that every endpoint answers 200 to the
bench user, warms each one up, then loads it with wrk from a second process and prints a
Markdown table. The server is stopped at the end, on Ctrl+C and on any error.

wrk is a Debian package: `apt-get install -y wrk` (as root). Loopback only: nothing here talks
to another host.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench as a package

from bench.benchlib import (
    BENCH_DIR,
    DEEP_PAGES,
    DEFAULT_ENV_FILE,
    ROOT,
    Endpoint,
    endpoints,
    load_env,
    out,
)

HOST = "127.0.0.1"  # loopback only, always
REPORT_LUA = BENCH_DIR / "report.lua"


@dataclass
class Result:
    name: str
    path: str
    what: str
    bytes_per_response: int
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    non2xx: int = 0
    socket_errors: int = 0
    server_cpu: float = 0.0  # share of one core used by the uvicorn process during the run
    db_cpu: float = 0.0  # share of one core used by all postgres processes during the run
    other_cpu: float = 0.0  # share of one core used by everything else on the machine (noise)
    raw: dict[str, Any] = field(default_factory=dict)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE)
    parser.add_argument("--threads", type=int, default=1, help="wrk -t")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--duration", default="15s", help="wrk -d for each endpoint")
    parser.add_argument("--warmup", default="3s", help="a discarded wrk run before each measured one ('0' skips)")
    parser.add_argument("--timeout", default="10s", help="wrk --timeout")
    parser.add_argument("--only", default="", help="comma-separated endpoint names (see --list)")
    parser.add_argument("--list", action="store_true", help="list the endpoints and exit")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--settings", default="same.settings", help="DJANGO_SETTINGS_MODULE of the server (bench.settings_pool: a pool)"
    )
    parser.add_argument(
        "--app",
        default="same.asgi:application",
        help="what uvicorn serves; same.wsgi:application with --server-arg=--interface --server-arg=wsgi "
        "compares Django's WSGI path",
    )
    parser.add_argument("--server-arg", action="append", default=[], help="extra argument for uvicorn (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    parser.add_argument("--skip-collectstatic", action="store_true")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every endpoint this many times (interleaved); the table keeps, for each, the round "
        "in which other processes used the least CPU, and shows the range of req/s over the rounds",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each endpoint, wait up to this long for other processes to use < 15%% of a core",
    )
    return parser.parse_args(argv)


def seconds(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smh]?)", text.strip())
    if not match:
        raise SystemExit(f"not a duration: {text!r} (use 15s, 2m …)")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def server_env(env: dict[str, Any], settings_module: str) -> dict[str, str]:
    """The environment of the seed: same database, same var dir (secret key, static files)."""
    result = dict(os.environ)
    result.pop("DATABASE_URL", None)
    if env.get("database_url"):
        result["DATABASE_URL"] = env["database_url"]
    result["SAME_VAR_DIR"] = env["same_var_dir"]
    result["DJANGO_SETTINGS_MODULE"] = settings_module
    result.setdefault("LOG_LEVEL", "WARNING")
    for name in ("DEBUG", "SAME_TESTING"):
        result.pop(name, None)
    return result


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(base: str, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(base + path, headers=headers)
    try:
        with OPENER.open(request, timeout=30) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_until_up(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}; its log:\n{log.read_text()[-4000:]}")
        try:
            if fetch(base, "/healthz", {})[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not answer /healthz within 60 s; its log:\n{log.read_text()[-4000:]}")


def follow(base: str, path: str, headers: dict[str, str], pages: int) -> str:
    """The cursor of page `pages + 1`, by following `next` like an app scrolling down."""
    cursor = ""
    for _ in range(pages):
        query = "?" + urlencode({"cursor": cursor}) if cursor else ""
        status, body = fetch(base, path + query, headers)
        if status != 200:
            raise SystemExit(f"GET {path}{query} answered {status}")
        cursor = json.loads(body)["next"] or ""
        if not cursor:
            raise SystemExit(f"{path} has fewer than {pages + 1} pages")
    return cursor


def deep_cursors(env: dict[str, Any], base: str) -> tuple[str, str]:
    bearer = {"Authorization": f"Bearer {env['token']}"}
    feed = follow(base, "/api/v1/feed", bearer, DEEP_PAGES)
    channel = follow(base, f"/api/v1/channels/{env['big_channel']}/posts", bearer, DEEP_PAGES)
    return feed, channel


def cpu_ticks(pids: Sequence[int], *, reaped: bool = False) -> int:
    """CPU time of these processes, in clock ticks; with `reaped`, also that of their children that
    have exited (a PostgreSQL backend lives for one request when CONN_MAX_AGE=0: the postmaster
    reaps it and its time moves into the postmaster's cutime/cstime)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
        if reaped:
            total += int(fields[13]) + int(fields[14])  # cutime + cstime
    return total


def busy_ticks() -> int:
    """CPU time spent by the whole machine (all cores), in clock ticks."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return user + nice + system + irq + softirq + steal


def children_ticks(clock: int) -> int:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * clock)


def foreign_share(server_pid: int, clock: int, window: float = 2.0) -> float:
    """How much of a core the processes that are not ours (nor postgres) use right now."""
    busy, ours = busy_ticks(), cpu_ticks([server_pid]) + postgres_ticks()
    time.sleep(window)
    return max(0, (busy_ticks() - busy) - (cpu_ticks([server_pid]) + postgres_ticks() - ours)) / clock / window


def drain(server_pid: int, clock: int, limit: float = 300) -> None:
    """Wait until the server has finished the requests wrk abandoned when it stopped: Django does not
    cancel a sync view when its client goes away, so a slow page leaves a backlog behind that would
    otherwise be measured as part of the next run."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        before = cpu_ticks([server_pid])
        time.sleep(1)
        if cpu_ticks([server_pid]) - before < 0.1 * clock:
            return
    out(f"    (the server was still busy after {limit:.0f} s)")


def wait_quiet(server_pid: int, clock: int, limit: float) -> None:
    deadline = time.monotonic() + limit
    while (share := foreign_share(server_pid, clock)) > 0.15 and time.monotonic() < deadline:
        out(f"    (other processes use {share:.0%} of a core: waiting)")
        time.sleep(8)


def postgres_ticks() -> int:
    """Everything the PostgreSQL server has used so far: its live processes, plus the backends the
    postmaster has reaped. Monotonic, so a difference is the server's CPU over an interval."""
    pids = postgres_pids()
    parents = {}
    for pid in pids:
        try:
            parents[pid] = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
    postmasters = [pid for pid, parent in parents.items() if parent not in parents]
    return cpu_ticks(pids) + cpu_ticks(postmasters, reaped=True) - cpu_ticks(postmasters)


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip().startswith("postgres"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def wrk(args: argparse.Namespace, base: str, endpoint: Endpoint, duration: str) -> dict[str, Any]:
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}", "--latency"]
    command += ["--timeout", args.timeout, "-s", str(REPORT_LUA)]
    for name, value in endpoint.headers.items():
        command += ["-H", f"{name}: {value}"]
    command.append(base + endpoint.path)
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds(duration) + 60, check=False)
    if done.returncode != 0:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            report: dict[str, Any] = json.loads(line[6:])
            report["wrk_stdout"] = done.stdout
            return report
    raise SystemExit(f"no summary in wrk's output:\n{done.stdout}")


def measure(args: argparse.Namespace, base: str, endpoint: Endpoint, server_pid: int, size: int, clock: int) -> Result:
    drain(server_pid, clock)
    if args.wait_quiet:
        wait_quiet(server_pid, clock, args.wait_quiet)
    if seconds(args.warmup) > 0:
        wrk(args, base, endpoint, args.warmup)
        drain(server_pid, clock)
    server_before, db_before = cpu_ticks([server_pid]), postgres_ticks()
    busy_before, wrk_before, started = busy_ticks(), children_ticks(clock), time.monotonic()
    report = wrk(args, base, endpoint, args.duration)
    wall = time.monotonic() - started
    server = cpu_ticks([server_pid]) - server_before
    db = postgres_ticks() - db_before
    other = busy_ticks() - busy_before - server - db - (children_ticks(clock) - wrk_before)
    duration_s = report["duration_us"] / 1e6
    return Result(
        name=endpoint.name,
        path=endpoint.path,
        what=endpoint.what,
        bytes_per_response=size,
        requests=report["requests"],
        rps=report["requests"] / duration_s,
        p50_ms=report["p50_us"] / 1000,
        p90_ms=report["p90_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        max_ms=report["max_us"] / 1000,
        non2xx=report["non2xx"],
        socket_errors=sum(report["errors"].values()),
        server_cpu=server / clock / wall,
        db_cpu=db / clock / wall,
        other_cpu=max(other, 0) / clock / wall,
        raw=report,
    )


def rate(value: float) -> str:
    return f"{value:,.1f}" if value < 10 else f"{value:,.0f}"


def table(rounds: dict[str, list[Result]], vendor: str) -> str:
    """One row per endpoint: the round least disturbed by other processes (and the range over all rounds)."""
    results = [min(runs, key=lambda r: (round(r.other_cpu, 1), -r.rps)) for runs in rounds.values()]
    several = any(len(runs) > 1 for runs in rounds.values())
    floor = next((r.rps for r in results if r.name == "healthz"), 0.0)
    head = "| endpoint | req/s | × floor | p50 ms | p99 ms | non-2xx | server CPU |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if several:
        head = head.replace(" req/s |", " req/s | req/s, all rounds |")
        rule += "---:|"
    if vendor == "postgresql":
        head += " postgres CPU |"
        rule += "---:|"
    head += " other CPU |"
    rule += "---:|"
    lines = [head, rule]
    for r in results:
        ratio = f"{floor / r.rps:.1f}" if floor and r.rps else "–"
        bad = str(r.non2xx) + (f" (+{r.socket_errors} socket errors)" if r.socket_errors else "")
        spread = ""
        if several:
            all_rps = sorted(x.rps for x in rounds[r.name])
            spread = f" {rate(all_rps[0])}–{rate(all_rps[-1])} |"
        line = (
            f"| `{r.name}` | {rate(r.rps)} |{spread} {ratio} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {bad} |"
            f" {r.server_cpu:.0%} |"
        )
        if vendor == "postgresql":
            line += f" {r.db_cpu:.0%} |"
        line += f" {r.other_cpu:.0%} |"
        lines.append(line)
    return "\n".join(lines)


@contextmanager
def running_server(args: argparse.Namespace, env: dict[str, str]) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = args.port or free_port()
    log = Path(tempfile.mkstemp(prefix="same-bench-server-", suffix=".log")[1])
    command = [sys.executable, "-m", "uvicorn", args.app, "--host", HOST, "--port", str(port)]
    command += ["--no-access-log", "--log-level", "warning", *args.server_arg]
    out(f"server: {' '.join(command)}  (log: {log})")
    with log.open("wb") as sink:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://{HOST}:{port}"
        wait_until_up(base, server, log)
        yield base, server
    finally:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
        out(f"server stopped (exit {server.returncode})")


def on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def describe(env: dict[str, Any], args: argparse.Namespace, senv: dict[str, str]) -> list[str]:
    commit = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    if not commit and (ROOT / ".commit").exists():  # an exported tree (git archive) may carry its commit
        commit = (ROOT / ".commit").read_text().strip()[:12]
    counts = env.get("counts", {})
    return [
        f"date: {datetime.now(UTC).isoformat(timespec='seconds')}",
        f"app: {ROOT} (commit {commit or 'unknown'})",
        f"database: {env['vendor']} {env.get('database_url') or env['same_var_dir'] + '/same.sqlite3'}"
        f"; REDIS_URL {'set' if senv.get('REDIS_URL') else 'unset'}",
        "dataset: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()),
        f"python {platform.python_version()}, one uvicorn worker serving {args.app} {' '.join(args.server_arg)}, "
        f"settings {senv['DJANGO_SETTINGS_MODULE']}; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration} --latency (warm-up {args.warmup} each)",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    env = load_env(args.env_file)
    if args.list:
        for endpoint in endpoints(env, "<cursor>", "<cursor>"):
            out(f"{endpoint.name:<22} {endpoint.path:<40} {endpoint.what}")
        return
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: `apt-get install -y wrk` (Debian/Ubuntu, as root), then run again.")
    signal.signal(signal.SIGTERM, on_sigterm)
    senv = server_env(env, args.settings)
    header = describe(env, args, senv)
    for line in header:
        out(line)
    if not args.skip_collectstatic:
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=senv, check=True
        )
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}
    clock = os.sysconf("SC_CLK_TCK")
    rounds: dict[str, list[Result]] = {}
    with running_server(args, senv) as (base, server):
        chosen = [e for e in endpoints(env, *deep_cursors(env, base)) if not wanted or e.name in wanted]
        if wanted - {e.name for e in chosen}:
            raise SystemExit(f"unknown endpoints: {', '.join(sorted(wanted - {e.name for e in chosen}))}")
        sizes = {}
        for endpoint in chosen:
            status, body = fetch(base, endpoint.path, endpoint.headers)
            if status != 200:
                raise SystemExit(f"{endpoint.name}: GET {endpoint.path} answered {status}, not 200: {body[:300]!r}")
            sizes[endpoint.name] = len(body)
        for number in range(1, args.rounds + 1):
            if args.rounds > 1:
                out(f"round {number} of {args.rounds}")
            for endpoint in chosen:
                result = measure(args, base, endpoint, server.pid, sizes[endpoint.name], clock)
                rounds.setdefault(endpoint.name, []).append(result)
                out(
                    f"  {result.name:<22} {result.rps:8.1f} req/s  p50 {result.p50_ms:7.1f} ms  "
                    f"p99 {result.p99_ms:7.1f} ms  non-2xx {result.non2xx}  cpu {result.server_cpu:.0%}"
                    f"  others {result.other_cpu:.0%}"
                )
    out("")
    out(table(rounds, env["vendor"]))
    out("")
    for r in (runs[0] for runs in rounds.values()):
        out(
            f"- `{r.name}`: `GET {r.path[:70]}{'…' if len(r.path) > 70 else ''}` — {r.what}, {r.bytes_per_response:,} B"
        )
    if args.json:
        payload = {
            "header": header,
            "rounds": {
                name: [{k: v for k, v in asdict(r).items() if k != "raw"} for r in runs]
                for name, runs in rounds.items()
            },
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        out(f"wrote {args.json}")


if __name__ == "__main__":
    main()
