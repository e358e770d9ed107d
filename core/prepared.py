"""Statements PostgreSQL plans once per connection: `PREPARE name AS …` the first time a pooled connection needs them,
then `EXECUTE name(…)` — which, unlike the protocol's own prepared statements, also runs inside a string of several
statements (`BEGIN; EXECUTE a(…); EXECUTE b(…)`), as the chat send's hand-written transaction is.

On this project's machine PostgreSQL spent 0.35–0.5 ms planning and running each of the send's statements and
~0.15–0.25 ms running them prepared (docs/performance.md, "Chat delivery"): planning was most of the work. Only
where connections live on (the pool, or CONN_MAX_AGE): a connection opened for one request would pay a round trip
to prepare what it runs once. Elsewhere (SQLite, no pool) `sql` is the statement itself.
"""

import re
import weakref
from typing import Any

from django.db import DatabaseError, connection

_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()  # connection → names prepared


class Prepared:
    """One statement, written with `%s` placeholders as Django's cursors take them."""

    def __init__(self, name: str, sql: str) -> None:
        assert "%%" not in sql, "a literal % would reach PREPARE doubled"
        self.name = name
        self.sql = sql
        self.count = sql.count("%s")
        numbers = iter(range(1, self.count + 1))
        self.definition = f"PREPARE {name} AS {re.sub('%s', lambda _match: f'${next(numbers)}', sql)}"
        self.execute = f"EXECUTE {name}({', '.join(['%s'] * self.count)})" if self.count else f"EXECUTE {name}"


def _lasting() -> bool:
    """Whether this connection outlives the request: pooled (Django's `pool` option) or kept (CONN_MAX_AGE)."""
    if connection.vendor != "postgresql":
        return False
    return (
        bool(connection.settings_dict.get("OPTIONS", {}).get("pool")) or connection.settings_dict["CONN_MAX_AGE"] != 0
    )


def sql_for(*statements: Prepared) -> list[str]:
    """Each statement as this connection should run it: `EXECUTE name(…)`, prepared first (one round trip, once per
    connection) where connections last; the statement itself elsewhere. In a transaction only what is already
    prepared runs by name (a PREPARE that failed there would abort it)."""
    if not _lasting():
        return [statement.sql for statement in statements]
    connection.ensure_connection()
    raw = connection.connection
    done = _prepared.setdefault(raw, set())
    missing = [statement for statement in statements if statement.name not in done]
    if missing and (not connection.get_autocommit() or connection.in_atomic_block):
        return [statement.sql for statement in statements]  # prepared later, outside a transaction
    if missing:
        _prepare(missing, done)
    return [statement.execute for statement in statements]


def _prepare(missing: list[Prepared], done: set[str]) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("; ".join(statement.definition for statement in missing))
    except DatabaseError:
        # Some were prepared on this connection already, unknown to this process (a PREPARE survives a rollback,
        # and the string stops at the first that fails): read the names back, then prepare the rest.
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM pg_prepared_statements")
            done.update(name for (name,) in cursor.fetchall())
        rest = [statement for statement in missing if statement.name not in done]
        if rest:
            with connection.cursor() as cursor:
                cursor.execute("; ".join(statement.definition for statement in rest))
    done.update(statement.name for statement in missing)
