"""Profile one page with pyinstrument, in process (Django's test client, the user `bench` logged in).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h_scale_1m SAME_VAR_DIR=/tmp/h_scale_1m \\
        .venv/bin/python bench/profile_page.py /c/CHANNEL --requests 20

CHANNEL in the path becomes the biggest non-punch channel `bench` joined (as in bench/scale.py). Three
requests warm up; the next `--requests` are profiled, and the call tree is printed (`--html FILE` to keep
pyinstrument's interactive page).
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "same.settings")

import django

django.setup()

from django.test import Client  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from accounts.models import User  # noqa: E402
from interests.models import Channel, ChannelKind  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--html", type=Path)
    args = parser.parse_args()
    viewer = User.objects.get(username="bench")
    channel = (
        Channel.objects.filter(memberships__user=viewer).exclude(kind=ChannelKind.PUNCH).order_by("-post_count")[0]
    )
    path = args.path.replace("CHANNEL", channel.public_id)
    client = Client()
    client.force_login(viewer)
    for _ in range(3):
        client.get(path)
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(args.requests):
        response = client.get(path)
    profiler.stop()
    print(f"GET {path}: {response.status_code}, {len(response.content):,} bytes")
    print(profiler.output_text(unicode=False, color=False))
    if args.html:
        args.html.write_text(profiler.output_html())


if __name__ == "__main__":
    main()
