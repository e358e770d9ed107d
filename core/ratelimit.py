"""Fixed-window rate limits kept in the cache (Redis in production, so every worker shares them)."""

import hashlib
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

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


def remember_allowance(allowance: Allowance) -> None:
    current = tightest.get()
    if current is None or allowance.remaining < current.remaining:
        tightest.set(allowance)


def _count(store: BaseCache, counters: list[tuple[str, int]]) -> list[int]:
    """Count one more on each (cache key, window) counter; their new values."""
    if isinstance(store, RedisCache) and counters:
        # One round trip for them all: `SET … NX EX` and `INCR` per counter in one MULTI/EXEC, the same counters
        # Django's cache reads (it stores integers unpickled). Through the cache API it was three per counter
        # (`add`, then `incr`: EXISTS + INCR). Writes all go to the cache's first server, whatever the key.
        pipeline = _write_client(store).pipeline()
        for cache_key, window in counters:
            key = store.make_and_validate_key(cache_key)
            pipeline.set(key, 0, ex=window + 1, nx=True)
            pipeline.incr(key)
        return [int(value) for value in pipeline.execute()[1::2]]
    return [_count_one(store, cache_key, window) for cache_key, window in counters]


_write_clients: dict[tuple[str, ...], Any] = {}  # one per Redis server of the cache, for the process's life


def _write_client(store: RedisCache) -> Any:
    """The cache's Redis client for writes, made once per process. `caches["default"]` is a new RedisCache for
    each request served (Django keeps it per context, and each request runs in a context of its own), with a
    new connection pool, so each hit opened a new connection to Redis (its handshake included) and built a new
    `redis.Redis` (copying ~170 response callbacks): ~4 ms of a message's send on the Redis layer, the whole
    difference from the in-memory one (docs/performance.md, "Chat delivery"). A client is safe to share between
    threads (each command takes a connection from its pool; redis-py makes a new pool after a fork); a pipeline
    is not, and each hit makes its own."""
    servers = tuple(vars(store)["_servers"])  # private, as are the pool and client class: no public way
    client = _write_clients.get(servers)
    if client is None:  # `store._cache` (a new RedisCacheClient: ~1.5 ms here) only then
        cache_client: Any = store._cache
        client = _write_clients[servers] = cache_client._client(
            connection_pool=cache_client._get_connection_pool(write=True)
        )
    return client


def _count_one(store: BaseCache, cache_key: str, window: int) -> int:
    store.add(cache_key, 0, timeout=window + 1)
    try:
        return int(store.incr(cache_key))
    except ValueError:  # expired between add and incr
        store.set(cache_key, 1, timeout=window + 1)
        return 1


def rate_limit_hit(*, scope: str, key: str) -> None:
    """Count one attempt against `scope` for `key`; raise RateLimited once the window is full."""
    rate_limit_hits((scope, key))


def rate_limit_hits(*hits: tuple[str, str]) -> None:
    """Count one attempt against each (scope, key), in one round trip to the shared cache; raise RateLimited if
    any window is full (each is counted either way, as separate calls would have counted those before it)."""
    counters, limits = _windows(hits)
    try:
        counts = _count(caches["default"], counters)  # the backend itself (`cache` is a proxy)
    except (RedisError, OSError) as error:
        counts = _count_here(counters, error)
    _judge(limits, counts)


def _windows(hits: tuple[tuple[str, str], ...]) -> tuple[list[tuple[str, int]], list[tuple[int, int]]]:
    """Each hit's (cache key, window) counter and (limit, seconds until its window starts again)."""
    now = int(time.time())
    counters, limits = [], []
    for scope, key in hits:
        limit, window = settings.RATE_LIMITS[scope]
        window_start = now - now % window
        counters.append((_cache_key(scope, key, window_start), window))
        limits.append((limit, max(1, window_start + window - now)))
    return counters, limits


def _count_here(counters: list[tuple[str, int]], error: BaseException) -> list[int]:
    logger.warning("rate limits counted in this process: the shared cache is away (%s)", error)
    return _count(_local, counters)


def _judge(limits: list[tuple[int, int]], counts: list[int]) -> None:
    for (limit, reset), count in zip(limits, counts, strict=True):
        remember_allowance(Allowance(limit=limit, remaining=max(0, limit - count), reset=reset))
    for (limit, reset), count in zip(limits, counts, strict=True):
        if count > limit:
            raise RateLimited(retry_after=reset)
