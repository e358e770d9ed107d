"""What the first load of Home transfers, in Chromium at 390×844 (a phone), as served in production.

    .venv/bin/python bench/page_weight.py --database postgres://postgres@127.0.0.1:5432/h_scale_10k

Starts `python -m uvicorn same.asgi:application` on a seeded database (`manage.py seed_scale`), with
static files collected and compressed as a deployment has them, logs the user `bench` in by cookie, opens
Home in a fresh browser (empty cache) and lists every response: its type, its transferred size (body as
sent on the wire, compressed or not, plus headers), its `Content-Encoding`, and for images the size drawn
against the size sent. The budget: HTML + CSS + JS ≤ 150 KB transferred. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.benchlib import ROOT, out
from bench.run import running_server

CHROMIUM = "/usr/bin/chromium"
BUDGET = 150 * 1024
CODE_TYPES = {"document", "stylesheet", "script"}


def measure_home(base: str, cookie: tuple[str, str]) -> dict[str, Any]:
    """Open Home once in a fresh phone-sized browser; every response with what it cost on the wire."""
    from playwright.sync_api import sync_playwright

    rows: list[dict[str, Any]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        context.add_cookies([{"name": cookie[0], "value": cookie[1], "url": base}])
        page = context.new_page()
        responses = []
        page.on("response", lambda response: responses.append(response))
        page.goto(base + "/", wait_until="networkidle")
        drawn = page.evaluate(
            "() => [...document.images].map(i => ({src: i.currentSrc, w: i.clientWidth, h: i.clientHeight,"
            " nw: i.naturalWidth, nh: i.naturalHeight, lazy: i.loading}))"
        )
        blocking = page.evaluate(
            "() => [...document.querySelectorAll('head link[rel=stylesheet], head script:not([async]):not([defer])"
            ":not([type=module])')].map(e => e.href || e.src).filter(u => u && !u.startsWith(location.origin))"
        )
        for response in responses:
            sizes = response.request.sizes()
            rows.append(
                {
                    "url": response.url.removeprefix(base),
                    "type": response.request.resource_type,
                    "status": response.status,
                    "encoding": response.headers.get("content-encoding", ""),
                    "body": sizes["responseBodySize"],
                    "headers": sizes["responseHeadersSize"],
                }
            )
        browser.close()
    code = sum(r["body"] + r["headers"] for r in rows if r["type"] in CODE_TYPES)
    return {"responses": rows, "code_bytes": code, "images": drawn, "third_party_blocking": blocking}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", required=True, help="DATABASE_URL of a seeded database")
    parser.add_argument("--app", default="same.asgi:application")
    parser.add_argument("--server-arg", action="append", default=[])
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    var_dir = str(Path(tempfile.gettempdir()) / args.database.rsplit("/", 1)[-1])
    env = {**os.environ, "DATABASE_URL": args.database, "SAME_VAR_DIR": var_dir, "LOG_LEVEL": "WARNING"}
    env.pop("DEBUG", None)
    prepared = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "scale.py"), "--prepare"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if prepared.returncode != 0:
        raise SystemExit(prepared.stderr[-3000:])
    info = json.loads(prepared.stdout.strip().splitlines()[-1])
    name, value = info["cookie"].split("=", 1)
    with running_server(args, env) as (base, _server):
        result = measure_home(base, (name, value))
    out(f"{'type':<11} {'status':>6} {'encoding':<8} {'bytes':>8}  url")
    for row in result["responses"]:
        out(
            f"{row['type']:<11} {row['status']:>6} {row['encoding']:<8} {row['body'] + row['headers']:>8}  {row['url'][:90]}"
        )
    for image in result["images"]:
        out(
            f"image drawn {image['w']}×{image['h']} from {image['nw']}×{image['nh']} ({image['lazy']}): {image['src'][-60:]}"
        )
    out(f"third-party render-blocking resources: {result['third_party_blocking'] or 'none'}")
    verdict = "within" if result["code_bytes"] <= BUDGET else "OVER"
    out(f"HTML + CSS + JS transferred: {result['code_bytes'] / 1024:.1f} KB ({verdict} the {BUDGET // 1024} KB budget)")


if __name__ == "__main__":
    main()
