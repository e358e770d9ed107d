"""CPU time per request of the HTML list pages and their bare endpoints, in process (Django's test client,
the user `bench` signed in, settings `bench.settings_bare`): steadier than throughput on a shared machine,
since time spent waiting for another process's CPU is not counted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_scale_10k SAME_VAR_DIR=/tmp/page-cpu \\
        .venv/bin/python bench/page_cpu.py --requests 30

(SAME_VAR_DIR: any directory; static files are collected into it.) Each page is warmed up three times,
then the cyclic garbage collector's start-up objects are frozen (as they would be long gone from a busy
server's young generations) and `--requests` requests are timed with `time.process_time`. It prints the
median and minimum per page, and bare ÷ HTML for each pair (the goal of issue 10: ≥ 60 %).
"""

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bare")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from accounts.models import User  # noqa: E402
from interests.models import Channel, ChannelKind  # noqa: E402

PAIRS = {"home": "bare-home", "channel": "bare-channel", "explore": "bare-explore"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    call_command("collectstatic", interactive=False, verbosity=0)
    viewer = User.objects.get(username="bench")
    channel = (
        Channel.objects.filter(memberships__user=viewer).exclude(kind=ChannelKind.PUNCH).order_by("-post_count")[0]
    )
    paths = {
        "home": "/",
        "bare-home": "/bench/bare/home/bench",
        "channel": f"/c/{channel.public_id}",
        "bare-channel": f"/bench/bare/channel/{channel.public_id}",
        "explore": "/explore",
        "bare-explore": "/bench/bare/explore",
    }
    client = Client()
    client.force_login(viewer)
    for path in paths.values():
        for _ in range(3):
            assert client.get(path).status_code == 200, path
    gc.collect()
    gc.freeze()
    medians = {}
    for name, path in paths.items():
        times = []
        for _ in range(args.requests):
            start = time.process_time()
            client.get(path)
            times.append((time.process_time() - start) * 1000)
        medians[name] = statistics.median(times)
        print(f"{name:<13} CPU per request: median {medians[name]:6.1f} ms, min {min(times):6.1f} ms")
    for html, bare in PAIRS.items():
        print(f"{html}: bare ÷ HTML = {medians[bare] / medians[html]:.0%}")
    print("load average:", " ".join(Path("/proc/loadavg").read_text().split()[:3]))


if __name__ == "__main__":
    main()
