"""Redis restarted while 40 people chat over WebSockets across two server processes (bench/chat_faults.py;
the 200-person run and its figures are in docs/reliability.md).

Ensure that every message the server confirmed reaches every member once, in order, with nothing missing;
that each member holds every message stored before Redis came back within 15 s of its return; and that
neither server process died."""

import asyncio

import pytest
from django.conf import settings
from django.db import connection

from bench.chat_faults import Servers, scenario, seed
from bench.private_services import REDIS_SERVER, PrivateRedis

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def test_a_redis_restart_loses_no_confirmed_message_and_every_member_catches_up():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (the CI's second pass): two server processes share the database")
    if REDIS_SERVER is None:
        pytest.skip("needs the redis-server binary for a private instance it can stop")
    people = seed(40, 8)
    redis = PrivateRedis()
    redis.start()
    servers = Servers(_database_url(), redis)
    try:
        servers.wait_up()
        outcome = asyncio.run(
            scenario(
                people,
                servers.ports,
                redis,
                interval=2.0,
                before=4.0,
                outage=3.0,
                after=5.0,
                settle=20.0,
                alive=servers.alive,
                say=print,
            )
        )
        tracebacks = servers.tracebacks()
    finally:
        servers.close()
        redis.remove()
    assert outcome.problems == []
    assert outcome.during_outage > 0, "no message was sent while Redis was down: the test proved nothing"
    assert outcome.confirmed > 50
    assert outcome.missing == 0
    assert outcome.out_of_order == 0
    assert outcome.catch_up_s <= 15.0
    assert outcome.resyncs >= 40, "every socket is told to resume once Redis is back"
    assert outcome.servers_alive
    assert set(outcome.statuses) <= {200, 201}, outcome.statuses
    assert tracebacks == {}


def test_rate_limits_are_counted_in_the_process_while_the_shared_cache_is_away(settings, monkeypatch):
    """Ensure that a Redis outage neither fails every rate-limited request nor lifts the limits."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from core import ratelimit
    from core.errors import RateLimited

    def refuse(*args, **kwargs):
        raise RedisConnectionError("Connection refused")

    import redis
    from django.core.cache import caches

    monkeypatch.setattr(caches["default"], "add", refuse)  # the in-process cache of the SQLite pass
    monkeypatch.setattr(redis.client.Pipeline, "execute", refuse)  # Redis: a hit is one pipeline
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (3, 60)}
    for _ in range(3):
        ratelimit.rate_limit_hit(scope="message_account", key="someone-during-an-outage")
    with pytest.raises(RateLimited):
        ratelimit.rate_limit_hit(scope="message_account", key="someone-during-an-outage")
