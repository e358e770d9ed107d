"""Fixed-window rate limits kept in the cache (Redis in production, so every worker shares them)."""

import hashlib
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from .errors import RateLimited

logger = logging.getLogger(__name__)

# While the shared cache (Redis) is away, each process counts on its own: limits stay, N workers times looser,
# rather than every rate-limited request failing or every limit lifting.
_local = LocMemCache("ratelimit-fallback", {"MAX_ENTRIES": 100_000})


def _cache_key(scope: str, key: str, window_start: int) -> str:
    # Keys may be emails: hash them so the cache never holds one in clear.
    digest = hashlib.sha256(f"{scope}:{key.lower()}".encode()).hexdigest()[:32]
    return f"rl:{scope}:{digest}:{window_start}"


@dataclass(frozen=True)
class Allowance:
    """What is left of the tightest limit a request touched: sent back as RateLimit-* headers."""

    limit: int
    remaining: int
    reset: int  # seconds until the window starts again


# Set by each hit during a request; core.middleware.ServiceErrorMiddleware resets it and writes the headers.
tightest: ContextVar[Allowance | None] = ContextVar("tightest_rate_limit", default=None)


def _remember(allowance: Allowance) -> None:
    current = tightest.get()
    if current is None or allowance.remaining < current.remaining:
        tightest.set(allowance)


def _count(store: BaseCache, cache_key: str, window: int) -> int:
    if isinstance(store, RedisCache):
        # One round trip: `SET … NX EX` and `INCR` in one MULTI/EXEC, the same counter Django's cache reads (it
        # stores integers unpickled). Through the cache API it was three (`add`, then `incr`: EXISTS + INCR).
        key = store.make_and_validate_key(cache_key)
        pipeline = store._cache.get_client(key, write=True).pipeline()
        pipeline.set(key, 0, ex=window + 1, nx=True)
        pipeline.incr(key)
        return int(pipeline.execute()[1])
    store.add(cache_key, 0, timeout=window + 1)
    try:
        return int(store.incr(cache_key))
    except ValueError:  # expired between add and incr
        store.set(cache_key, 1, timeout=window + 1)
        return 1


def rate_limit_hit(*, scope: str, key: str) -> None:
    """Count one attempt against `scope` for `key`; raise RateLimited once the window is full."""
    limit, window = settings.RATE_LIMITS[scope]
    now = int(time.time())
    window_start = now - now % window
    cache_key = _cache_key(scope, key, window_start)
    try:
        count = _count(caches["default"], cache_key, window)  # the backend itself (`cache` is a proxy)
    except (RedisError, OSError) as error:
        logger.warning("rate limits counted in this process: the shared cache is away (%s)", error)
        count = _count(_local, cache_key, window)
    reset = max(1, window_start + window - now)
    _remember(Allowance(limit=limit, remaining=max(0, limit - count), reset=reset))
    if count > limit:
        raise RateLimited(retry_after=reset)
