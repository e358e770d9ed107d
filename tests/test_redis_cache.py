"""core.redis_cache.ProcessRedisCache: one Redis client and connection pool per process, not one per request."""

import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache.backends.redis import RedisCache

from core.redis_cache import ProcessRedisCache

REDIS_URL = os.environ.get("REDIS_URL")


def test_every_instance_shares_one_client_per_servers_and_options() -> None:
    # Django makes a new cache instance in each request's context: here, one per "request".
    first = ProcessRedisCache("redis://127.0.0.1:6399/1", {"KEY_PREFIX": "a"})
    second = ProcessRedisCache("redis://127.0.0.1:6399/1", {"KEY_PREFIX": "b"})
    assert first._cache is second._cache  # the key prefix is the instance's, the connection the process's
    assert first._cache._get_connection_pool(write=True) is second._cache._get_connection_pool(write=True)
    elsewhere = ProcessRedisCache("redis://127.0.0.1:6399/2", {})
    assert elsewhere._cache is not first._cache  # another database: another client
    other_options = ProcessRedisCache("redis://127.0.0.1:6399/1", {"OPTIONS": {"socket_timeout": 1}})
    assert other_options._cache is not first._cache
    # Plain Django, for contrast: a client (and pool) per instance.
    assert RedisCache("redis://127.0.0.1:6399/1", {})._cache is not RedisCache("redis://127.0.0.1:6399/1", {})._cache


def test_threads_asking_at_once_get_one_pool() -> None:
    location = "redis://127.0.0.1:6399/3"

    def pool() -> object:
        return ProcessRedisCache(location, {})._cache._get_connection_pool(write=True)

    with ThreadPoolExecutor(8) as threads:
        pools = set(map(id, threads.map(lambda _: pool(), range(64))))
    assert len(pools) == 1


@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (the CI's second pass)")
def test_requests_reuse_one_connection_to_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    # Connections opened by this process, counted as they connect (the server's own count of connections received
    # also counts the other test workers', which connect meanwhile).
    import redis.connection

    opened = []
    make_socket = redis.connection.Connection._connect  # a new socket to the server: called once per connection

    def counted(self: redis.connection.Connection) -> object:
        opened.append(self)
        return make_socket(self)

    monkeypatch.setattr(redis.connection.Connection, "_connect", counted)
    assert REDIS_URL

    def twenty_requests(cache: type[RedisCache]) -> int:
        opened.clear()
        for n in range(20):  # twenty requests, each with the cache instance its context gets
            store = cache(REDIS_URL, {"KEY_PREFIX": "test-redis-cache"})
            store.set(f"k{n}", n, timeout=30)
            assert store.get(f"k{n}") == n
        store.delete_many([f"k{n}" for n in range(20)])
        return len(opened)

    # At most one new connection (none if an earlier test of this process opened it), where each request opened one.
    assert twenty_requests(ProcessRedisCache) <= 1
    assert twenty_requests(RedisCache) >= 20  # plain Django, for contrast: the count sees each request's own
