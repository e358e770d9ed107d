"""same.settings with bench/bare.py's endpoints mounted: for bench/scale.py, which compares each list page
with a bare endpoint on the same server."""

from same.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls_bare"
