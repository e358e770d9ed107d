"""The pool's connection check (core/dbpool.py): no round trip for an idle healthy connection, the full check
for anything else, and a connection whose backend was terminated is refused."""

import time
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from core.dbpool import check_connection

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pg() -> Any:
    if connection.vendor != "postgresql":
        pytest.skip("the pool and its check are PostgreSQL's")
    params = connection.get_connection_params()
    conn = psycopg.connect(**{**params, "autocommit": True})
    yield conn
    conn.close()


class Counting:
    """Counts what the full check would send (psycopg_pool's check runs `conn.execute("")`)."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.calls = conn, 0
        self._execute = conn.execute

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return self._execute(*args, **kwargs)


def test_the_pool_uses_this_check():
    if connection.vendor != "postgresql":
        pytest.skip("the pool is PostgreSQL's")
    assert settings.DATABASES["default"]["OPTIONS"]["pool"]["check"] is check_connection
    assert connection.pool._check is check_connection


def test_an_idle_healthy_connection_passes_without_a_round_trip(pg, monkeypatch):
    pg.execute("SELECT 1").fetchall()
    counting = Counting(pg)
    monkeypatch.setattr(pg, "execute", counting.execute)
    check_connection(pg)
    assert counting.calls == 0


def test_a_connection_with_something_to_read_gets_the_full_check(pg, monkeypatch):
    pg.execute("LISTEN dbpool_test")
    with psycopg.connect(**{**connection.get_connection_params(), "autocommit": True}) as other:
        other.execute("NOTIFY dbpool_test")
    time.sleep(0.2)
    counting = Counting(pg)
    monkeypatch.setattr(pg, "execute", counting.execute)
    check_connection(pg)  # healthy: the full check passes too
    assert counting.calls == 1


def test_a_connection_whose_backend_was_terminated_is_refused(pg):
    pid = pg.info.backend_pid
    with psycopg.connect(**{**connection.get_connection_params(), "autocommit": True}) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    deadline = time.monotonic() + 5
    while pg.pgconn.status == psycopg.pq.ConnStatus.OK and time.monotonic() < deadline:
        try:
            check_connection(pg)
        except psycopg.OperationalError:
            return
        time.sleep(0.05)
    pytest.fail("the check passed a connection whose backend was terminated")


def test_a_closed_connection_is_refused(pg):
    pg.close()
    with pytest.raises(psycopg.OperationalError):
        check_connection(pg)
