"""The PostgreSQL pool's check of a connection before a request gets it, without a round trip when it is idle.

psycopg_pool's own check (`ConnectionPool.check_connection`, what Django sets with `conn_health_checks`) sends
an empty query and waits for the answer: one round trip to PostgreSQL on every request, before the request's
own first statement — under load, each round trip waits for the server's backend to get a core (a 1:1 chat
send made 9 of them; docs/performance.md, "Chat delivery").

A pooled connection sits idle between requests: nothing is in flight, so PostgreSQL sends it nothing unless it
is going away. When the server stops, restarts or kills the backend, the backend sends an error (`57P01`,
"terminating connection due to administrator command") and closes the socket; when the backend process dies,
the kernel closes the socket. Either way the socket becomes readable. So: a connection whose socket has nothing
to read, whose libpq status is OK and which is idle outside a transaction is handed out as it is; anything else
— something to read, a bad status, an open transaction — gets psycopg_pool's full check, which raises for a
broken connection (the pool then throws it away and opens another, as before).

What neither check catches in time is a peer that vanished without closing (a network cut): the full check
would wait for TCP to give up as well, and the request's own first statement now meets it instead.
"""

import select
from typing import Any

from psycopg import pq
from psycopg_pool import ConnectionPool


def readable(fd: int) -> bool:
    poller = select.poll()  # not select.select: a server with 1,000 sockets has descriptors above FD_SETSIZE
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


def check_connection(conn: Any) -> None:
    """Return quietly if `conn` looks healthy without asking the server; otherwise psycopg_pool's check decides."""
    if (
        conn.closed
        or conn.pgconn.status != pq.ConnStatus.OK
        or conn.info.transaction_status != pq.TransactionStatus.IDLE
        or readable(conn.pgconn.socket)
    ):
        ConnectionPool.check_connection(conn)
