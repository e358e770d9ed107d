"""p95 of every list page at two dataset sizes, and HTML pages against bare JSON endpoints, on one server.

Seed two databases with `manage.py seed_scale` (the same shapes: `--scale 0.01` ≈ 10k posts, `--scale 1`
= 1M posts), then:

    nice -n 10 .venv/bin/python bench/scale.py \\
        --dataset 10k=postgres://postgres@127.0.0.1:5432/h_scale_10k \\
        --dataset 1m=postgres://postgres@127.0.0.1:5432/h_scale_1m --duration 10s --connections 4

For each dataset it starts `python -m uvicorn same.asgi:application` (settings `bench.settings_bare`: the
app plus bench/bare.py's endpoints) with that database, logs the user `bench` in, and checks every page
answers 200. The servers run side by side; each page is measured on every dataset in turn (the others
idle meanwhile), so a change in the machine's load falls between the sizes of one page less often: `wrk
--latency` (a discarded warm-up first) for p50/p95/p99 and req/s from bench/report.lua, and the server's
CPU time per request (/proc, all its threads). It prints p95 and CPU at the last dataset ÷ the first
(goal ≤ 1.3 for p95), each HTML page's throughput ÷ its bare endpoint's (goal ≥ 0.6; with `--rounds`, per round
and the median), the load average
around each run, and each server's RSS after the load (goal ≤ 150 MB). Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import ROOT, Endpoint, out
from bench.run import cpu_ticks, drain, fetch, running_server, seconds, wrk

PAIRS = {"channel": "bare-channel", "home": "bare-home", "explore": "bare-explore"}


def prepare(var_dir: str) -> dict[str, Any]:
    """In the dataset's own environment: a session and a token for `bench`, and the ids the pages need."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")
    import django

    django.setup()
    import hashlib
    import secrets

    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from accounts.models import AccessToken, User
    from chat.models import Conversation
    from interests.models import Channel, ChannelKind

    call_command("collectstatic", interactive=False, verbosity=0)
    viewer = User.objects.get(username="bench")
    store = SessionStore()
    store["_auth_user_id"] = str(viewer.pk)
    store["_auth_user_backend"] = "accounts.backends.EmailOrUsernameBackend"
    store["_auth_user_hash"] = viewer.get_session_auth_hash()
    store.create()
    token = "same_" + secrets.token_urlsafe(32)
    AccessToken.objects.create(user=viewer, digest=hashlib.sha256(token.encode()).hexdigest(), name="bench")
    joined = Channel.objects.filter(memberships__user=viewer)
    channel = joined.exclude(kind=ChannelKind.PUNCH).order_by("-post_count")[0]
    punch = Channel.objects.filter(kind=ChannelKind.PUNCH).order_by("-post_count")[0]
    # The same rule at every size: the busiest group, `bench` put in it if not there yet. (Taking bench's own
    # busiest conversation compared a 9-message direct chat at 10k with a full page of a group at 1M: a
    # measure of what the page shows, not of the tables' size.)
    from chat.models import Participant

    conversation = Conversation.objects.filter(kind="group").order_by("-next_seq")[0]
    Participant.objects.get_or_create(
        conversation=conversation, user=viewer, defaults={"last_read_seq": conversation.next_seq - 1}
    )
    return {
        "cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}",
        "token": token,
        "channel": channel.public_id,
        "channel_posts": channel.post_count,
        "channel_kind": channel.kind,
        "punch": punch.public_id,
        "conversation": conversation.public_id,
        "conversation_messages": conversation.next_seq - 1,
        "conversation_members": conversation.participants.count(),
        "posts": __import__("posts.models").models.Post.objects.count(),
    }


def endpoints(env: dict[str, Any]) -> list[Endpoint]:
    session = {"Cookie": env["cookie"]}
    bearer = {"Authorization": f"Bearer {env['token']}"}

    def page(name: str, path: str, what: str) -> Endpoint:
        return Endpoint(name, path, bearer if name.startswith("api") else session, what)

    channel, punch, conversation = env["channel"], env["punch"], env["conversation"]
    return [
        Endpoint("healthz", "/healthz", {}, "floor"),
        page("home", "/", "home feed"),
        Endpoint("bare-home", "/bench/bare/home/bench", session, "home's 20 rows as JSON"),
        page("channel", f"/c/{channel}", f"channel page ({env['channel_kind']}, {env['channel_posts']} posts)"),
        Endpoint("bare-channel", f"/bench/bare/channel/{channel}", session, "the channel's 20 rows as JSON"),
        page("explore", "/explore", "explore"),
        Endpoint("bare-explore", "/bench/bare/explore", session, "explore's 20 channels as JSON"),
        page("discover", "/discover", "discover"),
        page("chats", "/chats", "chats list"),
        page("conversation", f"/chats/{conversation}", "the busiest group"),
        page("stickers", "/stickers", "stickers"),
        page("punch-board", f"/c/{punch}/records", "punch board"),
        page("api-feed", "/api/v1/feed", "GET /api/v1/feed"),
        page("api-channel", f"/api/v1/channels/{channel}/posts", "GET /channels/{id}/posts"),
        page("api-channels", "/api/v1/channels?sort=active", "GET /channels"),
        page("api-conversations", "/api/v1/conversations", "GET /conversations"),
        page("api-messages", f"/api/v1/conversations/{conversation}/messages", "GET …/messages"),
        page("api-punches", f"/api/v1/channels/{punch}/punches", "GET …/punches"),
    ]


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def prepared_env(name: str, url: str) -> tuple[dict[str, str], dict[str, Any]]:
    """The server's environment for a dataset, and what `prepare` found in it."""
    var_dir = str(Path(tempfile.gettempdir()) / url.rsplit("/", 1)[-1])
    env = {**os.environ, "DATABASE_URL": url, "SAME_VAR_DIR": var_dir, "LOG_LEVEL": "WARNING"}
    env.pop("DEBUG", None)
    prepared = subprocess.run(
        [sys.executable, __file__, "--prepare"], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )
    if prepared.returncode != 0:
        raise SystemExit(f"preparing {name} failed:\n{prepared.stderr[-3000:]}")
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings_bare"
    return env, json.loads(prepared.stdout.strip().splitlines()[-1])


def measure_page(args: argparse.Namespace, name: str, base: str, pid: int, endpoint: Endpoint) -> dict[str, Any]:
    """wrk on one page after a warm-up, with the server's CPU time per request (user + system, all its
    threads: steadier than latency on a shared machine, since waiting for a core is not counted)."""
    clock = os.sysconf("SC_CLK_TCK")
    wrk(args, base, endpoint, args.warmup)
    drain(pid, clock)
    before, ticks = load(), cpu_ticks([pid])
    report = wrk(args, base, endpoint, args.duration)
    report["server_cpu_ms"] = (cpu_ticks([pid]) - ticks) / clock * 1000 / max(report["requests"], 1)
    report.pop("wrk_stdout", None)
    report["load"] = f"{before} → {load()}"
    report["rps"] = report["requests"] / (report["duration_us"] / 1e6)
    out(
        f"  {name:>4} {endpoint.name:<18} {report['rps']:7.1f} req/s  p50 {report['p50_us'] / 1000:7.1f}"
        f"  p95 {report['p95_us'] / 1000:7.1f}  p99 {report['p99_us'] / 1000:7.1f} ms"
        f"  CPU {report['server_cpu_ms']:5.1f} ms/req  non-2xx {report['non2xx']}  load {report['load']}"
    )
    drain(pid, clock)
    return report


def run_datasets(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Every dataset's server runs at once (each idle while another is measured), and each page is measured
    on each dataset in turn, so a change in the machine's load between the sizes of one page is minutes
    smaller than when one dataset ran all its pages before the next."""
    runs: dict[str, dict[str, Any]] = {}
    servers: dict[str, tuple[str, int]] = {}
    with ExitStack() as stack:
        for index, spec in enumerate(args.dataset):
            name, url = spec.split("=", 1)
            env, info = prepared_env(name, url)
            server_args = argparse.Namespace(**{**vars(args), "port": args.port + index if args.port else 0})
            base, server = stack.enter_context(running_server(server_args, env))
            servers[name] = (base, server.pid)
            runs[name] = {"info": info, "pages": {}, "rounds": {}}
        names = list(runs)
        chosen = {
            n: [e for e in endpoints(runs[n]["info"]) if not args.only or e.name in args.only.split(",")] for n in names
        }
        for n in names:
            for endpoint in chosen[n]:
                status, body = fetch(servers[n][0], endpoint.path, endpoint.headers)
                if status != 200:
                    raise SystemExit(f"{n}: GET {endpoint.path} answered {status}: {body[:300]!r}")
        for _round in range(args.rounds):
            for position in range(len(chosen[names[0]])):
                for n in names:
                    endpoint = chosen[n][position]
                    runs[n]["rounds"].setdefault(endpoint.name, []).append(measure_page(args, n, *servers[n], endpoint))
        for n in names:  # each page's figures: the round of its median throughput
            for page, reports in runs[n]["rounds"].items():
                runs[n]["pages"][page] = sorted(reports, key=lambda r: r["rps"])[len(reports) // 2]
        for n in names:
            runs[n]["rss_mb"] = rss_mb(servers[n][1])
            out(f"  {n}: server RSS after the load {runs[n]['rss_mb']:.0f} MB")
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", action="append", default=[], help="NAME=DATABASE_URL (give two)")
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--warmup", default="2s")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", default="30s")
    parser.add_argument("--only", default="", help="comma-separated endpoint names")
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every page this many times, in turn; the table shows each page's median round, and each "
        "HTML ÷ bare pair its ratio per round (on a shared machine one 10 s window swings by 1.5×)",
    )
    parser.add_argument("--app", default="same.asgi:application")
    parser.add_argument("--server-arg", action="append", default=[])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--prepare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.prepare:
        print(json.dumps(prepare(os.environ.get("SAME_VAR_DIR", ""))))
        return
    if len(args.dataset) < 1:
        raise SystemExit("give --dataset NAME=DATABASE_URL, twice to compare sizes")
    seconds(args.duration)
    out(
        f"bench/scale.py at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load {load()}, "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}"
    )
    runs = run_datasets(args)
    names = list(runs)
    out("")
    header = "| page | " + " | ".join(f"{n} req/s | {n} p95 ms | {n} CPU ms/req" for n in names)
    if len(names) > 1:
        header += f" | p95 {names[-1]} ÷ {names[0]} | CPU {names[-1]} ÷ {names[0]} |"
    out(header)
    out("|" + "---|" * (header.count("|") - 1))
    for page in runs[names[0]]["pages"]:
        cells = []
        for n in names:
            report = runs[n]["pages"].get(page)
            cells.append(
                f"{report['rps']:.1f} | {report['p95_us'] / 1000:.1f} | {report['server_cpu_ms']:.1f}"
                if report
                else "– | – | –"
            )
        line = f"| `{page}` | " + " | ".join(cells)
        if len(names) > 1 and page in runs[names[-1]]["pages"]:
            last, first = runs[names[-1]]["pages"][page], runs[names[0]]["pages"][page]
            ratio = last["p95_us"] / max(first["p95_us"], 1)
            line += f" | {ratio:.2f} | {last['server_cpu_ms'] / max(first['server_cpu_ms'], 0.001):.2f} |"
        out(line)
    out("")
    for n in names:
        pages = runs[n]["pages"]
        for html, bare in PAIRS.items():
            if html in pages and bare in pages:
                out(
                    f"{n}: {html} {pages[html]['rps']:.1f} req/s ÷ {bare} {pages[bare]['rps']:.1f} = "
                    f"{pages[html]['rps'] / pages[bare]['rps']:.0%}"
                )
                if args.rounds > 1:  # each round's own ratio (its two runs a page apart), and their median
                    rounds = runs[n]["rounds"]
                    ratios = sorted(h["rps"] / b["rps"] for h, b in zip(rounds[html], rounds[bare], strict=True))
                    cpu = sorted(
                        b["server_cpu_ms"] / h["server_cpu_ms"] for h, b in zip(rounds[html], rounds[bare], strict=True)
                    )
                    out(
                        f"{n}: {html} ÷ {bare} per round: {', '.join(f'{r:.0%}' for r in ratios)} (median "
                        f"{ratios[len(ratios) // 2]:.0%}); by CPU per request, {bare} ÷ {html}: "
                        f"{', '.join(f'{r:.0%}' for r in cpu)} (median {cpu[len(cpu) // 2]:.0%})"
                    )
        info = runs[n]["info"]
        out(
            f"{n}: {info['posts']:,} posts; the conversation: {info['conversation_messages']:,} messages, "
            f"{info['conversation_members']} members; server RSS after the load {runs[n]['rss_mb']:.0f} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(runs, indent=2) + "\n")


if __name__ == "__main__":
    main()
