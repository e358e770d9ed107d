"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps `caches["default"]` per context, and each request served runs in a context of its own: every
request that touches the cache made a new `RedisCache`, a new `RedisCacheClient`, a new connection pool and
so a new connection to Redis, its handshake included (~4 ms of a chat message's send on a loaded machine,
docs/performance.md, "Chat delivery"). Here the client is made once per process for each set of servers and
options and shared by every instance; redis-py's pools are safe to share between threads (each command takes a
connection of its own) and start afresh in a forked child.
"""

import threading
from functools import cached_property
from typing import Any, cast

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple[Any, ...], RedisCacheClient] = {}
_making = threading.Lock()


class ProcessRedisCache(RedisCache):
    """`django.core.cache.backends.redis.RedisCache`, its client shared by the process (see the module)."""

    @cached_property
    def _cache(self) -> RedisCacheClient:
        servers: list[str] = vars(self)["_servers"]
        options: dict[str, Any] = vars(self)["_options"]
        make: type[RedisCacheClient] = vars(self)["_class"]
        key = (tuple(servers), make, repr(sorted(options.items())))
        client = _clients.get(key)
        if client is None:
            with _making:
                client = _clients.get(key)
                if client is None:
                    client = make(servers, **options)
                    # The pool made here, under the lock: two threads would each make one.
                    cast(Any, client)._get_connection_pool(write=True)
                    _clients[key] = client
        return client
