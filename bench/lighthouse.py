"""Lighthouse (mobile profile) on Home, a channel, a conversation and Explore of the embedded default server.

    npm install --prefix /tmp/lh lighthouse
    nice -n 10 .venv/bin/python bench/lighthouse.py [--lighthouse /tmp/lh/node_modules/.bin/lighthouse]
        [--port 8611] [--throttling-method simulate|devtools|provide] [--out test-artifacts/lighthouse]
        [--runs 3] [--pages Home,Channel] [--save-assets]

It starts `manage.py serve` as `make run` does (SQLite in a temporary SAME_VAR_DIR, collectstatic, demo data),
starts Debian's Chromium (`CHROME_PATH`, default /usr/bin/chromium; `--headless=new --no-sandbox`) with a
debugging port, signs in as `demo` through the login form in that browser (Playwright over CDP), and points
Lighthouse at it (`--port`, `--disable-storage-reset`) so the pages and their htmx requests carry the session.
(`--extra-headers` with the session cookie alone is not enough: every page sets `csrftoken` again, and from
then on Chromium sends its own cookie jar on the page's XHRs, without the session, so the fragments a signed-in
page loads answered with the login page.) It prints the four category scores per page as a Markdown table; the
JSON reports land in --out.

With `--runs N` every page is measured N times in turn (one server, one browser); each run is printed with the
machine's load average when it started (`os.getloadavg()`), then the median and range per page. Lighthouse's
performance score depends on the CPU time the page's work takes, so on a shared machine the load matters.
`--save-assets` keeps each run's trace (`*-0.trace.json`) to see which work made a long task, and adds the
page's main-thread time, wall and CPU, to the table.
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


def sign_in(base: str, debugging_port: int) -> None:
    """Sign in as `demo` through the login form, in the browser Lighthouse will use."""
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
        chrome = subprocess.Popen(
            [
                os.environ.get("CHROME_PATH", "/usr/bin/chromium"),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--remote-debugging-port={options.debugging_port}",
                f"--user-data-dir={tempfile.mkdtemp(prefix='same-lighthouse-chrome-')}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{options.debugging_port}/json/version")
                break
            except OSError:
                time.sleep(0.2)
        sign_in(base, options.debugging_port)
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
                load = os.getloadavg()[0]
                result = lighthouse(options, base + path, out / f"{name.lower()}-{run}")
                final = str(result.get("finalDisplayedUrl") or result.get("finalUrl") or "")
                assert final.rstrip("/").endswith(path.rstrip("/")), f"{name}: landed on {final} (not signed in?)"
                scores = [round(100 * (result["categories"][c]["score"] or 0)) for c in CATEGORIES]
                metrics = {label: result["audits"][audit].get("displayValue", "") for audit, label in METRICS.items()}
                if options.save_assets:
                    metrics["main thread, wall (CPU)"] = main_thread_time(out / f"{name.lower()}-{run}-0.trace.json")
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
        if chrome is not None:
            chrome.terminate()
            chrome.wait(timeout=20)
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


def main_thread_time(trace: Path) -> str:
    """The page's main-thread tasks: their wall time, and (in brackets) the CPU time they had.

    Lighthouse's Total Blocking Time is computed from the wall time of those tasks (times 4 for a mid-range
    phone); on a busy machine a task that waited for a CPU looks long though it did little. The CPU time says
    what the page itself cost."""
    events = json.loads(trace.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    renderer = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e.get("ph") == "M" and e["args"].get("name") == "CrRendererMain"
    }
    busiest = Counter((e.get("pid"), e.get("tid")) for e in events if (e.get("pid"), e.get("tid")) in renderer)
    if not busiest:
        return "?"
    main = busiest.most_common(1)[0][0]
    tasks = [
        e
        for e in events
        if (e.get("pid"), e.get("tid")) == main
        and e.get("ph") == "X"
        and e.get("name") in ("RunTask", "ThreadControllerImpl::RunTask")
    ]
    return f"{sum(e.get('dur', 0) for e in tasks) / 1000:.0f} ms ({sum(e.get('tdur', 0) for e in tasks) / 1000:.0f} ms)"


def lighthouse(options: argparse.Namespace, url: str, stem: Path) -> dict[str, Any]:
    """One Lighthouse run of `url` in the signed-in browser; its JSON report (and trace) land beside `stem`."""
    report = stem.with_suffix(".json")
    for attempt in range(1, 4):  # Lighthouse now and then loses the trace on a busy machine (NO_NAVSTART)
        done = subprocess.run(
            [
                options.lighthouse,
                url,
                "--quiet",
                "--output=json",
                f"--output-path={report}",
                f"--only-categories={','.join(CATEGORIES)}",
                "--form-factor=mobile",
                f"--throttling-method={options.throttling_method}",
                f"--port={options.debugging_port}",
                "--disable-storage-reset",
                "--disable-full-page-screenshot",
                *(["--save-assets"] if options.save_assets else []),
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


if __name__ == "__main__":
    main()
