"""What the bench scripts share: console output and the .bench-env file that seed.py writes."""

import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DEFAULT_ENV_FILE = BENCH_DIR / ".bench-env"
DEEP_PAGES = 50  # the deep pages are page DEEP_PAGES + 1, reached by following `next`


@dataclass(frozen=True)
class Endpoint:
    name: str
    path: str
    headers: dict[str, str]
    what: str


def out(*parts: object) -> None:
    """Print a line now (the scripts report progress while they work)."""
    sys.stdout.write(" ".join(str(part) for part in parts) + "\n")
    sys.stdout.flush()


def load_env(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise SystemExit(f"{path} does not exist: run bench/seed.py first")
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise SystemExit(f"{path} is not a JSON object")
    return data


def endpoints(env: dict[str, Any], feed_deep: str, chan_deep: str) -> list[Endpoint]:
    """The pages measured, as the bench user (and the quiet one) sees them. The cursors are those of
    page DEEP_PAGES + 1 of the home feed and of the big channel."""
    cookie = {"Cookie": f"{env['session_cookie_name']}={env['session']}"}
    quiet = {"Cookie": f"{env['session_cookie_name']}={env['quiet_session']}"}
    bearer = {"Authorization": f"Bearer {env['token']}"}
    htmx = {**cookie, "HX-Request": "true"}
    big, small, word = env["big_channel"], env["small_channel"], env["search_word"]
    deep = DEEP_PAGES + 1
    return [
        Endpoint("healthz", "/healthz", {}, "floor: no session, no query"),
        Endpoint("healthz-session", "/healthz", cookie, "floor with a session: session + user rows"),
        Endpoint("home", "/", cookie, f"home feed, {env['viewer_channels']} channels joined"),
        Endpoint("home-deep", "/?" + urlencode({"cursor": feed_deep}), htmx, f"home feed page {deep} (htmx rows)"),
        Endpoint("home-sparse", "/", quiet, "home feed of a person in 5 small channels"),
        Endpoint("channel-big", f"/c/{big}", cookie, f"channel page, {env['big_channel_posts']:,} posts"),
        Endpoint(
            "channel-big-deep", f"/c/{big}?" + urlencode({"cursor": chan_deep}), htmx, f"same, page {deep} (htmx rows)"
        ),
        Endpoint("channel-small", f"/c/{small}", cookie, f"channel page, {env['small_channel_posts']:,} posts"),
        Endpoint("explore", "/explore", cookie, "explore, sort=active"),
        Endpoint("explore-search", "/explore?" + urlencode({"q": word}), cookie, f"explore, q={word}"),
        Endpoint("api-feed", "/api/v1/feed", bearer, "JSON home feed"),
        Endpoint("api-feed-deep", "/api/v1/feed?" + urlencode({"cursor": feed_deep}), bearer, f"page {deep}"),
        Endpoint("api-channel-big", f"/api/v1/channels/{big}/posts", bearer, "JSON channel posts"),
        Endpoint(
            "api-channel-big-deep",
            f"/api/v1/channels/{big}/posts?" + urlencode({"cursor": chan_deep}),
            bearer,
            f"page {deep}",
        ),
        Endpoint("api-channels", "/api/v1/channels?sort=active", bearer, "JSON explore, sort=active"),
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def bench_people(prefix: str, count: int, *, label: str, **fields: Any) -> tuple[list[Any], list[str]]:
    """`count` verified people named `{prefix}_{i}` (one precomputed password hash), each with an app token;
    returns the users and their token secrets. Django must be set up; call inside the seeding transaction,
    after removing what the last run's people left behind."""
    import hashlib
    import secrets

    from django.contrib.auth.hashers import make_password

    from accounts.models import AccessToken, User
    from accounts.usernames import username_key

    User.objects.filter(username__startswith=f"{prefix}_").delete()
    password = make_password(secrets.token_urlsafe(16))
    users = User.objects.bulk_create(
        [
            User(
                username=f"{prefix}_{i}",
                username_key=username_key(f"{prefix}_{i}"),
                email=f"{prefix}_{i}@bench.invalid",
                password=password,
                email_verified=True,
                **fields,
            )
            for i in range(count)
        ],
        batch_size=2000,
    )
    tokens = [f"same_{secrets.token_urlsafe(32)}" for _ in users]
    AccessToken.objects.bulk_create(
        [
            AccessToken(user=u, digest=hashlib.sha256(s.encode()).hexdigest(), name=label)
            for u, s in zip(users, tokens, strict=True)
        ],
        batch_size=5000,
    )
    return users, tokens
