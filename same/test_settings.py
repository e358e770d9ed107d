"""Settings for the test suite: the real settings, with a private media root, cheaper password
hashing (still Argon2) and static files served from the source tree."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SAME_TESTING", "1")

from .settings import *  # noqa: F403
from .settings import CACHES, REDIS_URL, STORAGES

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="same-test-media-"))
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
SITE_URL = "http://testserver"

# Parallel test workers (pytest-xdist) each get their own Redis database: clearing the cache
# between tests (FLUSHDB) must not wipe another worker's rate-limit counters mid-test.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _worker.startswith("gw"):
    from urllib.parse import urlparse

    _parsed = urlparse(REDIS_URL)
    _base = int(_parsed.path.strip("/") or 0)
    # Redis has databases 0-15: wrap around rather than ask for one that doesn't exist.
    REDIS_URL = _parsed._replace(path=f"/{(_base + 1 + int(_worker[2:])) % 16}").geturl()
    CACHES = {"default": {**CACHES["default"], "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "same-test"},
        }
    }
