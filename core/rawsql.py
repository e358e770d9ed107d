"""Hand-written SELECTs for the hottest requests, with values converted as the ORM converts them.

Building and compiling an ORM query costs 0.3–2 ms of CPU on the project's machine, more than the query
itself; on a request that runs hundreds of times a second (a bearer token's lookup, a punch) the same
SELECT written once costs ~0.1 ms. The database still returns raw values in its own types (SQLite:
text for dates and times), so each column is named with the model field it holds, and the field's
converters — the ORM's own — are applied to it.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init


@cache
def _columns(model: type[models.Model], names: tuple[str, ...]) -> tuple[Any, ...]:
    columns = []
    for name in names:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field)
        columns.append(field.get_col(model._meta.db_table))
    return tuple(columns)


def converted(model: type[models.Model], names: Sequence[str], row: Sequence[Any]) -> dict[str, Any]:
    """`row`'s values (in the order of `names`, fields of `model`) as the ORM would give them."""
    result = {}
    for name, value, column in zip(names, row, _columns(model, tuple(names)), strict=True):
        for convert in connection.ops.get_db_converters(column) + column.target.get_db_converters(connection):
            value = convert(value, column, connection)
        result[name] = value
    return result


def fetch_one(sql: str, params: Sequence[Any] | dict[str, Any]) -> tuple[Any, ...] | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def select_list(model: type[models.Model], alias: str) -> str:
    """`alias.col, …` for every concrete field of `model`, in the order `Model.from_db` takes them."""
    return _select_list(model, alias, connection.vendor)


@cache
def _select_list(model: type[models.Model], alias: str, vendor: str) -> str:
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column or field.name)}" for field in model._meta.concrete_fields)


@cache
def _layout(model: type[models.Model], engine: str) -> tuple[int, int, tuple[tuple[int, Any, tuple[Any, ...]], ...]]:
    """How many concrete fields `model` has, where its primary key is among them, and (position, column,
    converters) of each field whose raw value needs converting on this database (SQLite: dates, times,
    booleans; PostgreSQL: almost none)."""
    fields = model._meta.concrete_fields
    convert = []
    for position, field in enumerate(fields):
        column = field.get_col(model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        if converters:
            convert.append((position, column, converters))
    return len(fields), fields.index(model._meta.pk), tuple(convert)


def width(model: type[models.Model]) -> int:
    """How many columns `select_list(model, …)` writes."""
    return len(model._meta.concrete_fields)


def instance[M: models.Model](model: type[M], row: Sequence[Any], start: int = 0) -> M | None:
    """The `model` whose concrete fields are `row[start:start + width(model)]` (as `select_list` wrote them),
    converted as the ORM converts them and made as the ORM makes it (`from_db`); None when its primary key
    is NULL (the other side of a LEFT JOIN that found nothing)."""
    # The database's engine from the settings (a dict read), not the connection: `connections[…]` is a thread-local
    # lookup (~1 µs), and a page of photo cards makes ~80 instances, most of which need no converting on PostgreSQL.
    count, pk_position, convert = _layout(model, connections.settings[DEFAULT_DB_ALIAS]["ENGINE"])
    return _converted(model, None, list(row[start : start + count]), pk_position, convert)


def _converted[M: models.Model](
    model: type[M],
    names: tuple[str, ...] | None,
    values: list[Any],
    pk_position: int,
    convert: tuple[tuple[int, Any, tuple[Any, ...]], ...],
) -> M | None:
    """`instance`'s and `instance_of`'s end: the values converted as the ORM converts them, the model made."""
    if values[pk_position] is None:
        return None
    if convert:
        db = connections[DEFAULT_DB_ALIAS]
        for position, column, converters in convert:
            value = values[position]
            for converter in converters:
                value = converter(value, column, db)
            values[position] = value
    return _made(model, names, values)


def select_only(model: type[models.Model], alias: str, names: tuple[str, ...]) -> str:
    """`alias.col, …` for these fields of `model` (by attname), in this order: for `instance_of`."""
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(_field(model, name).column or name)}" for name in names)


def instance_of[M: models.Model](
    model: type[M], names: tuple[str, ...], row: Sequence[Any], start: int = 0
) -> M | None:
    """The `model` with only the fields `names` (attnames, its primary key among them) loaded from
    `row[start:start + len(names)]` (as `select_only` wrote them), the others deferred as `.only()` leaves them: read
    from the database if ever asked for. For a row of which a page shows a field or two (a post's author: its name),
    without reading, converting and holding the rest. None when its primary key is NULL."""
    pk_position, convert = _layout_of(model, names, connections.settings[DEFAULT_DB_ALIAS]["ENGINE"])
    return _converted(model, names, list(row[start : start + len(names)]), pk_position, convert)


def _field(model: type[models.Model], attname: str) -> models.Field[Any, Any]:
    for field in model._meta.concrete_fields:
        if field.attname == attname:
            return field
    raise LookupError(f"{model.__name__} has no concrete field {attname!r}")


@cache
def _layout_of(
    model: type[models.Model], names: tuple[str, ...], engine: str
) -> tuple[int, tuple[tuple[int, Any, tuple[Any, ...]], ...]]:
    """As `_layout`, for these fields only: where the primary key is among them, and what needs converting."""
    convert = []
    for position, name in enumerate(names):
        field = _field(model, name)
        column = field.get_col(model._meta.db_table)
        converters = tuple(connection.ops.get_db_converters(column) + field.get_db_converters(connection))
        if converters:
            convert.append((position, column, converters))
    return names.index(model._meta.pk.attname), tuple(convert)


def _made[M: models.Model](model: type[M], names: tuple[str, ...] | None, values: list[Any]) -> M:
    """The instance of a row whose fields `names` (None: every concrete field, in order) hold `values`."""
    if not _plain(model, len(pre_init.receivers), len(post_init.receivers)):
        if names is not None:  # from_db takes them in the model's order
            given = dict(zip(names, values, strict=True))
            names = tuple(name for name in _attnames(model) if name in given)
            values = [given[name] for name in names]
        return model.from_db(DEFAULT_DB_ALIAS, names, values)  # type: ignore[arg-type]  # None: every field is there
    # What Model.from_db → Model.__init__ leave behind for a row with these fields, without their per-field walk
    # (~5 µs a row; a page of photo cards makes ~80): the attributes (a field left out is deferred: not in
    # __dict__, as __init__ leaves a DEFERRED one), and the state of a row loaded from this database. Only for
    # models that keep Django's own __init__ and from_db, and while no init signal listens (ImageField's
    # dimensions do).
    made = model.__new__(model)
    # A new dict, not `made.__dict__.update(…)`: on CPython 3.13.0, once the ORM had made the process's first
    # instances of the model, an instance made that way and left in a cycle (a post and its film) was never
    # collected: one post a channel page (tests/test_rawsql.py; docs/performance.md).
    made.__dict__ = dict(zip(_attnames(model) if names is None else names, values, strict=True))
    state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    made._state = state
    return made


@cache
def _attnames(model: type[models.Model]) -> tuple[str, ...]:
    return tuple(field.attname for field in model._meta.concrete_fields)


@cache
def _plain(model: type[models.Model], _pre: int, _post: int) -> bool:
    """Whether `model` makes its rows as Django does (no __init__ or from_db of its own, no private fields
    such as a GenericForeignKey that __init__ would set) and no init signal listens for it. The number of
    receivers of each signal is part of the key: a receiver connected later is seen."""
    return (
        model.__init__ is models.Model.__init__
        and model.from_db.__func__ is models.Model.from_db.__func__  # type: ignore[attr-defined]
        and not model._meta.private_fields
        and not pre_init.has_listeners(model)
        and not post_init.has_listeners(model)
    )


def fetch_all(sql: str, params: Sequence[Any] | dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
