"""Lighthouse (mobile profile) on Home, a channel, a conversation and Explore of the embedded default server.

    npm install --prefix /tmp/lh lighthouse
    nice -n 10 .venv/bin/python bench/lighthouse.py [--lighthouse /tmp/lh/node_modules/.bin/lighthouse]
        [--port 8611] [--throttling-method simulate|devtools|provide] [--out test-artifacts/lighthouse]
        [--runs 3] [--pages Home,Channel] [--save-assets] [--at-cpu-time] [--one-browser]

It starts `manage.py serve` as `make run` does (SQLite in a temporary SAME_VAR_DIR, collectstatic, demo data),
starts Debian's Chromium (`CHROME_PATH`, default /usr/bin/chromium; `--headless=new --no-sandbox`) with a
debugging port and signs in as `demo` through the login form in that browser (Playwright over CDP), keeping the
session's cookies. Every run then gets a fresh Chromium (a new profile) with those cookies put in its jar and no
page of the site opened, and Lighthouse runs against it (`--port`, `--disable-storage-reset`), so the pages and
their htmx requests carry the session. (`--extra-headers` with the session cookie alone is not enough: every page
sets `csrftoken` again, and from then on Chromium sends its own cookie jar on the page's XHRs, without the session,
so the fragments a signed-in page loads answered with the login page.)

Why a fresh browser per run: when Lighthouse attaches its debugger, V8 walks the renderer's whole heap (a task
before the page commits, filed under "Unattributable"); in a browser that already showed the site, that heap
holds the earlier pages and the walk took 50-85 ms of CPU, 0.1-0.5 s of wall time, simulated at 4x as blocking
time. `--one-browser` measures every run in the browser that signed in, as this bench did before 2026-11-27.

It prints the four category scores per page as a Markdown table; the JSON reports land in --out. With `--runs N`
every page is measured N times in turn (one server); each run is printed with the machine's load average when it
started (`os.getloadavg()`), then the median and range per page. Lighthouse's performance score depends on the
wall time the page's main-thread tasks take, so on a shared machine the load matters. `--save-assets` keeps each
run's trace (`*-0.trace.json`) to see which work made a long task, and adds the page's main-thread time, wall and
CPU, to the table. `--at-cpu-time` also scores each run again from its saved artifacts (`-GA`, then `-A`) with
every main-thread task of the page shrunk to the CPU time it used: what the run would score had no other process
wanted the CPU (an estimate for a quiet machine; the network part is unchanged).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
PAGES = ["Home", "Channel", "Conversation", "Explore"]
METRICS = {"total-blocking-time": "TBT", "cumulative-layout-shift": "CLS", "largest-contentful-paint": "LCP"}
FIND_PAGES = """
from accounts.models import User
from chat.models import Conversation
from interests.models import Channel
demo = User.objects.get(username="demo")
channel = Channel.objects.filter(memberships__user=demo).order_by("created_at").first()
talk = Conversation.objects.filter(participants__user=demo, kind="direct", state="active").first()
print(channel.public_id, talk.public_id)
"""


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=capture, text=True
    )
    return done.stdout if capture else ""


def sign_in(base: str, debugging_port: int) -> list[Any]:
    """Sign in as `demo` through the login form, in the browser at `debugging_port`; its cookies."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{debugging_port}")
        page = browser.contexts[0].new_page()
        page.goto(f"{base}/login")
        page.locator("#id_login").fill("demo")
        page.locator("#id_password").fill("same-demo-password")
        page.locator("#id_password").press("Enter")
        page.wait_for_selector("nav.tabs")
        page.close()
        return list(browser.contexts[0].cookies())


def give_cookies(debugging_port: int, cookies: list[Any]) -> None:
    """Put the signed-in session's cookies in the browser's jar without opening a page of the site."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(f"http://127.0.0.1:{debugging_port}")
        browser.contexts[0].add_cookies(cookies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lighthouse", default="/tmp/lh/node_modules/.bin/lighthouse")  # noqa: S108  (where the docstring installs it)
    parser.add_argument("--port", type=int, default=8611)
    parser.add_argument("--debugging-port", type=int, default=9611)
    parser.add_argument("--throttling-method", default="simulate", choices=["simulate", "devtools", "provide"])
    parser.add_argument("--out", default=str(ROOT / "test-artifacts" / "lighthouse"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--pages", default=",".join(PAGES), help="some of " + ", ".join(PAGES))
    parser.add_argument("--save-assets", action="store_true")
    parser.add_argument(
        "--at-cpu-time",
        action="store_true",
        help="also score each run with its main-thread tasks shrunk to their CPU time (see at_cpu_time)",
    )
    parser.add_argument(
        "--one-browser",
        action="store_true",
        help="measure every run in the browser that signed in (the old way: its renderer's leftovers count)",
    )
    options = parser.parse_args()

    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    var = tempfile.mkdtemp(prefix="same-lighthouse-")
    env = {**os.environ, "SAME_VAR_DIR": var}
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG"):
        env.pop(name, None)  # the embedded default: SQLite, in-memory channel layer
    manage(env, "migrate", "--noinput", "--verbosity", "0")
    manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    manage(env, "seed_demo", "--if-empty")
    channel_id, conversation_id = manage(env, "shell", "-c", FIND_PAGES, capture=True).split()[-2:]

    base = f"http://127.0.0.1:{options.port}"
    server = subprocess.Popen(
        [PYTHON, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(options.port)], cwd=ROOT, env=env
    )
    chrome = None
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.2)
        chrome = start_browser(options.debugging_port)
        cookies = sign_in(base, options.debugging_port)
        rows: list[tuple[str, int, float, list[int], dict[str, str]]] = []
        paths = {
            "Home": "/",
            "Channel": f"/c/{channel_id}",
            "Conversation": f"/chats/{conversation_id}",
            "Explore": "/explore",
        }
        pages = {name: paths[name] for name in options.pages.split(",")}
        for run in range(1, options.runs + 1):
            for name, path in pages.items():
                if not options.one_browser:
                    stop_browser(chrome)
                    chrome = start_browser(options.debugging_port)
                    give_cookies(options.debugging_port, cookies)
                load = os.getloadavg()[0]
                result = lighthouse(options, base + path, out / f"{name.lower()}-{run}")
                final = str(result.get("finalDisplayedUrl") or result.get("finalUrl") or "")
                assert final.rstrip("/").endswith(path.rstrip("/")), f"{name}: landed on {final} (not signed in?)"
                scores = [round(100 * (result["categories"][c]["score"] or 0)) for c in CATEGORIES]
                metrics = {label: result["audits"][audit].get("displayValue", "") for audit, label in METRICS.items()}
                if options.save_assets:
                    metrics["main thread, wall (CPU)"] = main_thread_time(
                        out / f"{name.lower()}-{run}-0.trace.json", base + path
                    )
                if options.at_cpu_time:
                    again = reaudit_at_cpu_time(options, out / f"{name.lower()}-{run}", base + path)
                    metrics["at CPU time: performance (TBT)"] = (
                        f"{round(100 * (again['categories']['performance']['score'] or 0))} "
                        f"({again['audits']['total-blocking-time'].get('displayValue', '')})"
                    )
                rows.append((name, run, load, scores, metrics))
                failed = [
                    f"{audit['id']} ({audit['score']})"
                    for audit in result["audits"].values()
                    if audit.get("score") is not None
                    and audit["score"] < 0.9
                    and audit.get("scoreDisplayMode") == "binary"
                ]
                print(
                    f"{name} run {run} (load {load:.2f}): {scores} {metrics} failing binary audits: {failed}",
                    file=sys.stderr,
                )
    finally:
        stop_browser(chrome)
        server.terminate()
        server.wait(timeout=20)
    labels = list(rows[0][4]) if rows else list(METRICS.values())
    print(f"| page | run | load average | {' | '.join(CATEGORIES)} | {' | '.join(labels)} |")
    print("|---|---|---|" + "---|" * (len(CATEGORIES) + len(labels)))
    for name, run, load, scores, metrics in rows:
        print(
            f"| {name} | {run} | {load:.2f} | {' | '.join(str(s) for s in scores)} | {' | '.join(metrics.values())} |"
        )
    if options.runs > 1:
        print()
        print("| page | performance, median (range) | the other three, lowest |")
        print("|---|---|---|")
        for name in pages:
            mine = [scores for page, _run, _load, scores, _metrics in rows if page == name]
            performance = sorted(scores[0] for scores in mine)
            others = min(min(scores[1:]) for scores in mine)
            print(f"| {name} | {statistics.median(performance):g} ({performance[0]}–{performance[-1]}) | {others} |")


def start_browser(debugging_port: int) -> subprocess.Popen[bytes]:
    """Chromium with a fresh profile and a debugging port."""
    chrome = subprocess.Popen(
        [
            os.environ.get("CHROME_PATH", "/usr/bin/chromium"),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--remote-debugging-port={debugging_port}",
            f"--user-data-dir={tempfile.mkdtemp(prefix='same-lighthouse-chrome-')}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{debugging_port}/json/version")
            break
        except OSError:
            time.sleep(0.2)
    return chrome


def stop_browser(chrome: subprocess.Popen[bytes] | None) -> None:
    if chrome is not None:
        chrome.terminate()
        chrome.wait(timeout=20)


TASKS = ("RunTask", "ThreadControllerImpl::RunTask")


def page_main_thread(events: list[dict[str, Any]], url: str) -> tuple[int, int] | None:
    """The main thread of the renderer that navigated to `url` (not the new-tab page's, or a worker's)."""
    pids = {
        e["pid"]
        for e in events
        if e.get("name") == "navigationStart"
        and str(e.get("args", {}).get("data", {}).get("documentLoaderURL", "")).startswith(url)
    }
    mains = [
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("ph") == "M" and e["args"].get("name") == "CrRendererMain"
    ]
    busiest: Counter[tuple[int, int]] = Counter(
        (e["pid"], e["tid"]) for e in events if (e.get("pid"), e.get("tid")) in mains
    )
    for main, _count in busiest.most_common():
        if main[0] in pids:
            return main
    return None


def main_thread_time(trace: Path, url: str) -> str:
    """The page's main-thread tasks: their wall time, and (in brackets) the CPU time they had.

    Lighthouse's Total Blocking Time is computed from the wall time of those tasks (times 4 for a mid-range
    phone); on a busy machine a task that waited for a CPU looks long though it did little. The CPU time says
    what the page itself cost."""
    events = json.loads(trace.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    main = page_main_thread(events, url)
    tasks = [e for e in events if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X" and e["name"] in TASKS]
    return f"{sum(e.get('dur', 0) for e in tasks) / 1000:.0f} ms ({sum(e.get('tdur', 0) for e in tasks) / 1000:.0f} ms)"


def at_cpu_time(trace: Path, url: str) -> None:
    """Rewrite a trace as if each of the page's main-thread tasks had had a CPU to itself: every task (and
    everything inside it) shrinks to the CPU time it used, from where it started. Nesting is kept; what the
    page waited for on the network is not touched."""
    data = json.loads(trace.read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    main = page_main_thread(events, url)
    mine = sorted((e for e in events if (e.get("pid"), e.get("tid")) == main and "ts" in e), key=lambda e: e["ts"])
    tasks = [e for e in mine if e.get("ph") == "X" and e["name"] in TASKS and e.get("dur") and e.get("tdur")]
    index = 0
    for task in sorted(tasks, key=lambda e: e["ts"]):
        start, end = task["ts"], task["ts"] + task["dur"]
        ratio = min(1.0, task["tdur"] / task["dur"])
        while index < len(mine) and mine[index]["ts"] < start:
            index += 1
        inner = index
        while inner < len(mine) and mine[inner]["ts"] <= end:
            event = mine[inner]
            if event is task or event["ts"] + event.get("dur", 0) <= end:  # skip a top-level task's overlap
                event["ts"] = start + (event["ts"] - start) * ratio
                if "dur" in event:
                    event["dur"] = event["dur"] * ratio
            inner += 1
    trace.write_text(json.dumps(data))


def _command(options: argparse.Namespace, url: str, report: Path) -> list[str]:
    """Lighthouse's mobile profile on `url`, its JSON report written to `report`: what every run shares."""
    return [
        options.lighthouse,
        url,
        "--quiet",
        "--output=json",
        f"--output-path={report}",
        f"--only-categories={','.join(CATEGORIES)}",
        "--form-factor=mobile",
        f"--throttling-method={options.throttling_method}",
        "--disable-storage-reset",
        "--disable-full-page-screenshot",
    ]


def lighthouse(options: argparse.Namespace, url: str, stem: Path) -> dict[str, Any]:
    """One Lighthouse run of `url` in the signed-in browser; its JSON report (and trace) land beside `stem`."""
    report = stem.with_suffix(".json")
    for attempt in range(1, 4):  # Lighthouse now and then loses the trace on a busy machine (NO_NAVSTART)
        done = subprocess.run(
            [
                *_command(options, url, report),
                f"--port={options.debugging_port}",
                *(["--save-assets"] if options.save_assets else []),
                *([f"--gather-mode={stem}-artifacts", "--audit-mode"] if options.at_cpu_time else []),
            ],
            check=False,
        )
        if done.returncode == 0:
            break
        print(f"Lighthouse failed on {url} (attempt {attempt}); again", file=sys.stderr)
    else:
        raise RuntimeError(f"Lighthouse failed three times on {url}")
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def reaudit_at_cpu_time(options: argparse.Namespace, stem: Path, url: str) -> dict[str, Any]:
    """Lighthouse again on the run's saved artifacts, its trace rewritten by `at_cpu_time`."""
    artifacts = Path(f"{stem}-artifacts")
    for trace in artifacts.glob("*.trace.json"):
        at_cpu_time(trace, url)
    report = Path(f"{stem}-at-cpu-time.json")
    subprocess.run(
        [
            *_command(options, url, report),
            f"--audit-mode={artifacts}",
        ],
        check=True,
    )
    result: dict[str, Any] = json.loads(report.read_text())
    return result


if __name__ == "__main__":
    main()
