"""PostgreSQL connections the serving event loop uses itself, with no thread in between (chat/loop_send.py).

Django's database API is synchronous: a socket's frame that writes is handed to a thread (`database_sync_to_async`),
which wakes, takes a pooled connection, sends, waits for PostgreSQL, and wakes the loop again with the answer. At a
trickle every wake-up of something idle costs ~0.2–0.4 ms on this project's machine (docs/performance.md, "where a
lone pair's delivery goes"): more than the statements themselves. These connections are psycopg's AsyncConnection,
driven by the loop: it sends the string and goes on serving other sockets until PostgreSQL answers.

A few per loop (`LOOP_DB_CONNECTIONS`), opened when first needed and kept. Nobody waits for one: when every one is
busy, or PostgreSQL cannot be reached, `borrowed()` yields None and the caller goes the thread's way, which
answers under load and through an outage as it always did. A connection that fails, or is left in a transaction,
is closed and never reused; an idle one is checked without a round trip before it is lent (core/dbpool.py's
check). Like Django's, they are in autocommit, with the time zone UTC and the same connection parameters; each
prepares the statements registered with `prepare_on_connect` as it opens (`PREPARE`, core/prepared.py), so its
users always run them by name.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from django.conf import settings
from django.db import connections

from .dbpool import readable
from .prepared import Prepared

logger = logging.getLogger(__name__)

RETRY_AFTER = 1.0  # seconds without trying to connect again after a connection could not be opened

_statements: dict[str, Prepared] = {}


def prepare_on_connect(*statements: Prepared) -> None:
    """Statements every loop connection prepares as it opens (at import time of their users)."""
    for statement in statements:
        _statements[statement.name] = statement


def available() -> bool:
    """Whether this process lends loop connections at all: PostgreSQL, and LOOP_DB_CONNECTIONS above 0."""
    return connections["default"].vendor == "postgresql" and settings.LOOP_DB_CONNECTIONS > 0


class _Lender:
    """One loop's connections: the idle ones, and how many are open (idle or lent)."""

    def __init__(self) -> None:
        self.idle: list[Any] = []
        self.open = 0
        self.failed_at = -RETRY_AFTER

    async def take(self) -> Any:
        while self.idle:
            conn = self.idle.pop()
            if _healthy(conn):
                return conn
            self._drop(conn)
        if self.open >= settings.LOOP_DB_CONNECTIONS or time.monotonic() - self.failed_at < RETRY_AFTER:
            return None
        self.open += 1
        try:
            return await _connect()
        except Exception as error:  # noqa: BLE001  (whatever it was, the thread's way answers for it)
            self.open -= 1
            self.failed_at = time.monotonic()
            logger.warning("no loop connection to PostgreSQL (%s): sending through threads", error)
            return None

    def give_back(self, conn: Any) -> None:
        if _healthy(conn):
            self.idle.append(conn)
        else:
            self._drop(conn)

    def _drop(self, conn: Any) -> None:
        self.open -= 1
        _finish(conn)

    def close(self) -> None:
        while self.idle:
            self._drop(self.idle.pop())


_lenders: dict[asyncio.AbstractEventLoop, _Lender] = {}


def _lender() -> _Lender:
    loop = asyncio.get_running_loop()
    lender = _lenders.get(loop)
    if lender is None:
        for old in [old for old in _lenders if old.is_closed()]:  # a loop that ended (tests run one per test)
            _lenders.pop(old).close()
        lender = _lenders[loop] = _Lender()
    return lender


@asynccontextmanager
async def borrowed() -> AsyncIterator[Any]:
    """A connection of this loop for the time of the block, or None (none free, none can be opened): then the
    caller goes through a thread. Given back if the block left it as it found it, outside a transaction, whether
    or not it raised; closed otherwise (a statement failed in a transaction, the connection broke, or the block was
    cancelled with a statement in flight)."""
    lender = _lender()
    conn = await lender.take()
    if conn is None:
        yield None
        return
    try:
        yield conn
    finally:
        lender.give_back(conn)


async def _connect() -> Any:
    import psycopg  # PostgreSQL's driver, imported only where it is the database

    params = connections["default"].get_connection_params()  # the test database's name, in tests
    params["cursor_factory"] = psycopg.AsyncClientCursor  # several statements in one string, as Django's cursors
    params.setdefault("application_name", "same-loop")  # told apart from the pool's in pg_stat_activity
    conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
    try:
        definitions = [statement.definition for statement in _statements.values()]
        await conn.execute("; ".join(["SET TIME ZONE 'UTC'", *definitions]))
    except BaseException:
        _finish(conn)
        raise
    return conn


def _healthy(conn: Any) -> bool:
    """Idle, outside a transaction, and nothing came from the server meanwhile (a restart or a killed backend sends
    something and closes): core/dbpool.py's check, without its round trip when in doubt."""
    from psycopg import pq

    return (
        not conn.closed
        and conn.pgconn.status == pq.ConnStatus.OK
        and conn.info.transaction_status == pq.TransactionStatus.IDLE
        and not readable(conn.pgconn.socket)
    )


def _finish(conn: Any) -> None:
    """Close without the event loop (which may be gone): libpq closes the socket, the server ends the backend."""
    conn.pgconn.finish()


def close_all() -> None:
    """Close every idle loop connection of this process, whatever loop it was opened on: the tests call it after each
    test, before the test database is dropped."""
    for lender in _lenders.values():
        lender.close()
    _lenders.clear()
