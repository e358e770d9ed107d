"""The serving stack, side by side: the same app and endpoints under each way of serving it.

Usage (from the repository root, after bench/seed.py):

    .venv/bin/python bench/serving.py --env-file bench/.bench-env.pg --rounds 3
    .venv/bin/python bench/serving.py --stacks bridge,django-asgi --only healthz,api-channels

Stacks (one worker process each; the WebSocket column says whether the stack can also serve /ws/):

- `django-asgi`   uvicorn, same.asgi:application with HTTP_HANDLER=asgi: Django's ASGI handler
- `bridge`        uvicorn, same.asgi:application as shipped: Django's WSGI handler in a thread pool
                  inside the ASGI app (core/http_bridge.py), Channels for /ws/
- `uvicorn-wsgi`  uvicorn --interface wsgi, same.wsgi:application: plain WSGI, HTTP only (reference)
- `granian-bridge`, `granian-wsgi`: the same under granian, if it can be imported (granian is not a
                  requirement: `pip install --target /tmp/granlib granian` and `--granian-path /tmp/granlib`)

The rounds are interleaved (every stack once per round, servers started afresh for each), because
the machine is shared and its load drifts. Besides req/s, the table gives the **server's CPU time per
request** (the server's process tree, from /proc): on a busy machine throughput follows what the
scheduler gives the server, while the CPU a request costs does not nearly as much.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # bench as a package

from bench.benchlib import DEFAULT_ENV_FILE, ROOT, endpoints, load_env, out
from bench.run import HOST, deep_cursors, fetch, free_port, seconds, server_env, wait_until_up, wrk

STACKS: dict[str, tuple[list[str], dict[str, str], bool]] = {
    # name: (command after `python -m`, extra environment, serves the WebSocket too)
    "django-asgi": (["uvicorn", "same.asgi:application"], {"HTTP_HANDLER": "asgi"}, True),
    "bridge": (["uvicorn", "same.asgi:application"], {}, True),
    "uvicorn-wsgi": (["uvicorn", "--interface", "wsgi", "same.wsgi:application"], {}, False),
    "granian-bridge": (["granian", "--interface", "asgi", "same.asgi:application"], {}, True),
    "granian-wsgi": (["granian", "--interface", "wsgi", "same.wsgi:application"], {}, False),
}


@dataclass
class Run:
    stack: str
    endpoint: str
    rps: float
    p99_ms: float
    cpu_ms: float  # the server process tree's CPU per request
    non2xx: int


def tree_ticks(root: int) -> int:
    """CPU ticks (user + system) of a process and its live descendants."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo += [child for child, parent in parents.items() if parent == pid]
    return total


@contextmanager
def serving(stack: str, senv: dict[str, str], threads: int, granian_path: str) -> Iterator[tuple[str, int]]:
    command, extra, _ws = STACKS[stack]
    port = free_port()
    env = {**senv, **extra, "HTTP_THREADS": str(threads)}
    args = [sys.executable, "-m", *command, "--host", HOST, "--port", str(port)]
    if command[0] == "uvicorn":
        args += ["--no-access-log", "--log-level", "warning"]
    else:
        env["PYTHONPATH"] = granian_path + os.pathsep + env.get("PYTHONPATH", "")
        args += ["--workers", "1", "--log-level", "warning", "--no-access-log"]
        if "wsgi" in command:
            args += ["--blocking-threads", str(threads)]
    log = Path(tempfile.mkstemp(prefix=f"same-serving-{stack}-", suffix=".log")[1])
    with log.open("wb") as sink:
        server = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        base = f"http://{HOST}:{port}"
        wait_until_up(base, server, log)
        yield base, server.pid
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-file", type=Path, default=DEFAULT_ENV_FILE)
    parser.add_argument("--stacks", default="django-asgi,bridge,uvicorn-wsgi")
    parser.add_argument("--only", default="healthz,healthz-session,channel-big,explore,api-channels,api-feed")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--warmup", default="2s")
    parser.add_argument("--timeout", default="10s")
    parser.add_argument("--http-threads", type=int, default=int(os.environ.get("HTTP_THREADS", "32")))
    parser.add_argument("--granian-path", default="/tmp/granlib")  # noqa: S108  (where the docstring says to install it)
    args = parser.parse_args()
    args.threads = 1  # wrk -t
    env = load_env(args.env_file)
    senv = server_env(env, "same.settings")
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=senv, check=True)
    stacks = [s.strip() for s in args.stacks.split(",") if s.strip()]
    wanted = [name.strip() for name in args.only.split(",") if name.strip()]
    clock = os.sysconf("SC_CLK_TCK")
    out(
        f"load average before: {os.getloadavg()}; {args.rounds} rounds; wrk -t1 -c{args.connections} "
        f"-d{args.duration}; HTTP_THREADS={args.http_threads}"
    )
    runs: list[Run] = []
    for number in range(1, args.rounds + 1):
        for stack in stacks:
            with serving(stack, senv, args.http_threads, args.granian_path) as (base, pid):
                chosen = [e for e in endpoints(env, *deep_cursors(env, base)) if e.name in wanted]
                for endpoint in chosen:
                    status, body = fetch(base, endpoint.path, endpoint.headers)
                    if status != 200:
                        raise SystemExit(f"{stack} {endpoint.name}: {status} {body[:200]!r}")
                    if seconds(args.warmup) > 0:
                        wrk(args, base, endpoint, args.warmup)
                    time.sleep(0.5)
                    before = tree_ticks(pid)
                    report = wrk(args, base, endpoint, args.duration)
                    used = (tree_ticks(pid) - before) / clock
                    done = max(report["requests"], 1)
                    run = Run(
                        stack,
                        endpoint.name,
                        report["requests"] / (report["duration_us"] / 1e6),
                        report["p99_us"] / 1000,
                        1000 * used / done,
                        report["non2xx"],
                    )
                    runs.append(run)
                    out(
                        f"round {number} {stack:<15} {endpoint.name:<16} {run.rps:8.1f} req/s  "
                        f"{run.cpu_ms:6.2f} ms CPU/req  p99 {run.p99_ms:8.1f} ms  non-2xx {run.non2xx}"
                    )
    out(f"load average after: {os.getloadavg()}")
    out("")
    out("| endpoint | " + " | ".join(f"{s}: req/s · CPU ms/req" for s in stacks) + " |")
    out("|---|" + "---:|" * len(stacks))
    for name in wanted:
        cells = []
        for stack in stacks:
            mine = [r for r in runs if r.stack == stack and r.endpoint == name]
            if not mine:
                cells.append("–")
                continue
            best = max(r.rps for r in mine)
            cpu = min(r.cpu_ms for r in mine)
            cells.append(f"{best:,.0f} · {cpu:.2f}")
        out(f"| `{name}` | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
