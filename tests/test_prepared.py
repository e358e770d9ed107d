"""Statements planned once per connection (core/prepared.py): prepared the first time a lasting PostgreSQL
connection needs them, then run by name, in strings of several statements too; answers the same as the statement
itself; the statement itself where connections don't last (SQLite, no pool) or inside a transaction that would
have to prepare."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from core import prepared
from core.prepared import Prepared, sql_for

pytestmark = pytest.mark.django_db(transaction=True)

TWICE = Prepared("same_test_twice", "SELECT %s::int * 2, %s::text")
CONSTANT = Prepared("same_test_constant", "SELECT 7")


@pytest.fixture
def fresh_connection():
    """This connection as if new: nothing prepared on it, nothing known of it."""
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("DEALLOCATE ALL")
    prepared._prepared.clear()
    yield
    prepared._prepared.clear()


def run(statement: str, params: list) -> list:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


def test_the_placeholders_become_numbered_parameters():
    """Ensure that `%s` placeholders are numbered for PREPARE and EXECUTE takes as many."""
    assert TWICE.definition == "PREPARE same_test_twice AS SELECT $1::int * 2, $2::text"
    assert TWICE.execute == "EXECUTE same_test_twice(%s, %s)"
    assert CONSTANT.execute == "EXECUTE same_test_constant"


def test_prepared_once_per_connection_then_run_by_name(fresh_connection):
    """Ensure that a lasting PostgreSQL connection prepares the statements in one round trip the first time and
    never again, and that run by name they answer what the statements answer."""
    if connection.vendor != "postgresql":
        assert sql_for(TWICE, CONSTANT) == [TWICE.sql, CONSTANT.sql]
        return
    with CaptureQueriesContext(connection) as first:
        twice, constant = sql_for(TWICE, CONSTANT)
    assert [q["sql"] for q in first.captured_queries] == [f"{TWICE.definition}; {CONSTANT.definition}"]
    assert (twice, constant) == (TWICE.execute, CONSTANT.execute)
    with CaptureQueriesContext(connection) as again:
        assert sql_for(TWICE, CONSTANT) == [TWICE.execute, CONSTANT.execute]
    assert again.captured_queries == []
    assert run(twice, [21, "x"]) == run(TWICE.sql, [21, "x"]) == [(42, "x")]
    with connection.cursor() as cursor:  # by name inside a string of several statements
        cursor.execute(f"BEGIN; {twice}; {constant}; COMMIT", [1, "y"])
        cursor.nextset()
        assert cursor.fetchall() == [(2, "y")]
        cursor.nextset()
        assert cursor.fetchall() == [(7,)]


def test_inside_a_transaction_nothing_is_prepared(fresh_connection):
    """Ensure that in a transaction a statement not yet prepared runs as itself (a PREPARE that failed there would
    abort the caller's transaction), and one already prepared runs by name."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's")
    sql_for(CONSTANT)
    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        twice, constant = sql_for(TWICE, CONSTANT)
        assert (twice, constant) == (TWICE.sql, CONSTANT.sql)
        assert sql_for(CONSTANT) == [CONSTANT.execute]
    assert not [q for q in inside.captured_queries if q["sql"].startswith("PREPARE")]


def test_statements_prepared_before_this_process_knew_are_read_back(fresh_connection):
    """Ensure that a statement already prepared on the connection (unknown to this process) is not a failure:
    the names are read back and the rest prepared."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(TWICE.definition)
    twice, constant = sql_for(TWICE, CONSTANT)
    assert run(twice, [2, "z"]) == [(4, "z")]
    assert run(constant, []) == [(7,)]


def test_no_pool_means_no_prepare(fresh_connection, settings):
    """Ensure that where each request opens its own connection, statements run as themselves: preparing would
    cost a round trip for one use."""
    options = connection.settings_dict.get("OPTIONS", {})
    saved = (dict(options), connection.settings_dict["CONN_MAX_AGE"])
    connection.settings_dict["OPTIONS"] = {k: v for k, v in options.items() if k != "pool"}
    connection.settings_dict["CONN_MAX_AGE"] = 0
    try:
        assert sql_for(TWICE) == [TWICE.sql]
    finally:
        connection.settings_dict["OPTIONS"], connection.settings_dict["CONN_MAX_AGE"] = saved
