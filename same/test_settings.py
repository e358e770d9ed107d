"""Settings for the test suite: the real settings, with a private media root, cheaper password
hashing (still Argon2) and static files served from the source tree."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("SAME_TESTING", "1")

from .settings import *  # noqa: F403
from .settings import STORAGES

MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="same-test-media-"))
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]
SITE_URL = "http://testserver"
