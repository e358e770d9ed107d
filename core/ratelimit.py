"""Fixed-window rate limits kept in the cache (Redis in production, so every worker shares them)."""

import asyncio
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


def _remember(allowance: Allowance) -> None:
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


async def rate_limit_hits_on_loop(*hits: tuple[str, str]) -> None:
    """`rate_limit_hits` from the event loop itself, without a thread: the same counters, in one round trip to Redis
    over a client of this loop's (redis.asyncio), or counted in process (no Redis, or Redis away)."""
    counters, limits = _windows(hits)
    store = caches["default"]
    if isinstance(store, RedisCache):
        try:
            counts = await _count_on_loop(store, counters)
        except (RedisError, OSError) as error:
            counts = _count_here(counters, error)
    else:
        counts = _count(store, counters)  # in process: nothing to wait for
    _judge(limits, counts)


_loop_clients: dict[tuple[Any, ...], Any] = {}  # (loop, Redis servers) → a redis.asyncio client bound to that loop


async def _count_on_loop(store: RedisCache, counters: list[tuple[str, int]]) -> list[int]:
    """`_count`'s MULTI/EXEC through redis.asyncio on the running loop (its connections belong to that loop)."""
    from redis.asyncio import Redis

    loop = asyncio.get_running_loop()
    servers = tuple(vars(store)["_servers"])
    client = _loop_clients.get((loop, servers))
    if client is None:
        for gone in [key for key in _loop_clients if key[0].is_closed()]:
            del _loop_clients[gone]  # a loop that ended took its connections with it
        client = _loop_clients[loop, servers] = Redis.from_url(servers[0])
    async with client.pipeline(transaction=True) as pipeline:
        for cache_key, window in counters:
            key = store.make_and_validate_key(cache_key)
            pipeline.set(key, 0, ex=window + 1, nx=True)
            pipeline.incr(key)
        replies = await pipeline.execute()
    return [int(value) for value in replies[1::2]]


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
        _remember(Allowance(limit=limit, remaining=max(0, limit - count), reset=reset))
    for (limit, reset), count in zip(limits, counts, strict=True):
        if count > limit:
            raise RateLimited(retry_after=reset)


class Counting:
    """Rate-limit hits sent to Redis and answered later (`rate_limit_counting`): the counting's round trip runs
    while the caller waits on something else — a chat send's first round trip to PostgreSQL — instead of before
    it. Counted either way, as `rate_limit_hits` counts: `verdict()` raises RateLimited if a window is full.
    Use it as a context manager: leaving it reads the answers if `verdict()` was not called, so the Redis
    connection goes back to its pool clean whatever happened in between."""

    def __init__(self, hits: tuple[tuple[str, str], ...]) -> None:
        self._counters, self._limits = _windows(hits)
        self._counts: list[int] | None = None
        self._pool: Any = None
        self._connection: Any = None
        store = caches["default"]
        try:
            if not isinstance(store, RedisCache):
                self._counts = _count(store, self._counters)  # in process: nothing to wait for
                return
            pool = _write_client(store).connection_pool
            self._connection = pool.get_connection()
            self._pool = pool
            commands: list[tuple[Any, ...]] = [("MULTI",)]
            for cache_key, window in self._counters:
                key = store.make_and_validate_key(cache_key)
                commands += [("SET", key, 0, "EX", window + 1, "NX"), ("INCR", key)]
            commands.append(("EXEC",))
            self._expected = len(commands)
            self._connection.send_packed_command(self._connection.pack_commands(commands))
        except (RedisError, OSError) as error:
            self._drop()
            self._counts = _count_here(self._counters, error)

    def _answers(self) -> list[int]:
        if self._counts is None:
            try:
                replies = [self._connection.read_response() for _ in range(self._expected)]
                self._counts = [int(value) for value in replies[-1][1::2]]  # EXEC's: SET's, INCR's, …
                self._pool.release(self._connection)
                self._connection = None
            except (RedisError, OSError) as error:
                self._drop()
                self._counts = _count_here(self._counters, error)
        return self._counts

    def _drop(self) -> None:
        """A connection whose answers were not all read is never reused."""
        if self._connection is not None:
            self._connection.disconnect()
            self._pool.release(self._connection)
            self._connection = None

    def verdict(self) -> None:
        _judge(self._limits, self._answers())

    def __enter__(self) -> "Counting":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._connection is not None:
            self._answers()


def rate_limit_counting(*hits: tuple[str, str]) -> Counting:
    """`rate_limit_hits` in two halves: the hits go out now, their verdict is read with `verdict()`."""
    return Counting(hits)
