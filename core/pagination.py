"""Keyset (cursor) pagination: no OFFSET, no COUNT, the same cost on page 1 and page 1,000.

A list is ordered by a few fields, newest or biggest first, ending in a unique one; the cursor
is those fields' values on the last item of a page, encoded opaquely.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection, connections, models
from django.db.models import F, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.utils.translation import gettext as _

from .errors import ServiceError

M = TypeVar("M", bound=models.Model)


@dataclass(frozen=True)
class Page[T]:
    items: list[T]
    next: str | None


def _encode(values: Sequence[Any]) -> str:
    plain = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(cursor: str, size: int) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != size:
            raise ValueError("wrong shape")
        return [datetime.fromisoformat(v["t"]) if isinstance(v, dict) else v for v in raw]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError, RecursionError):
        raise _invalid_cursor() from None


def _checked(model: type[models.Model], order: Sequence[str], values: list[Any]) -> list[Any]:
    """The cursor's values, each refused unless the database can compare it with its field.

    A cursor comes from the client: a string where a number belongs, a number past the column's range, a naive or
    out-of-range date or a NUL character would otherwise fail in the query (a 500) instead of as a bad link.
    """
    for name, value in zip(order, values, strict=True):
        if not _fits(_field(model, name), value):
            raise _invalid_cursor()
    return values


def _field(model: type[models.Model], path: str) -> Any:
    *relations, last = path.split("__")
    for part in relations:
        model = model._meta.get_field(part).related_model  # type: ignore[assignment]  # a relation has a model
    return model._meta.pk if last == "pk" else model._meta.get_field(last)


def _fits(field: Any, value: Any) -> bool:
    if isinstance(field, models.DateTimeField):
        if not isinstance(value, datetime) or value.tzinfo is None:
            return False
        try:
            value.astimezone(UTC)
        except OverflowError:
            return False
        return True
    if isinstance(field, models.IntegerField):
        low, high = connection.ops.integer_field_range(field.get_internal_type())
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (low is None or value >= low)
            and (high is None or value <= high)
        )
    if isinstance(field, models.CharField):
        return isinstance(value, str) and "\x00" not in value and len(value) <= (field.max_length or len(value))
    return False


def _invalid_cursor() -> ServiceError:
    return ServiceError("invalid_cursor", _("This page link is not valid; start from the first page."), field="cursor")


def _after(
    fields: Sequence[str], values: Sequence[Any], *, ascending: bool = False
) -> TupleLessThan | TupleGreaterThan:
    """Rows strictly after `values` in descending order of `fields`, as one row comparison:
    `(a, b) < (x, y)` (or `>` in ascending order). Unlike `a < x OR (a = x AND b < y)`, PostgreSQL takes
    it as a bound of the index on (a DESC, b DESC), so a page deep in a list costs a page, not a scan
    from the top."""
    row = Tuple(*[F(name) for name in fields])
    return TupleGreaterThan(row, tuple(values)) if ascending else TupleLessThan(row, tuple(values))


def keyset_page[M: models.Model](
    queryset: QuerySet[M], *, order: Sequence[str], cursor: str | None, size: int, ascending: bool = False
) -> Page[M]:
    """One page of `queryset`, ordered by `order` descending, or ascending (the last field must be
    unique)."""
    if cursor:
        values = _checked(queryset.model, order, _decode(cursor, len(order)))
        queryset = queryset.filter(_after(order, values, ascending=ascending))
    sign = "" if ascending else "-"
    rows = list(queryset.order_by(*[f"{sign}{name}" for name in order])[: size + 1])
    items, more = rows[:size], len(rows) > size
    next_cursor = _encode([_value(items[-1], name) for name in order]) if more and items else None
    return Page(items=items, next=next_cursor)


def cursor_values(model: type[models.Model], order: Sequence[str], cursor: str) -> list[Any]:
    """The values a cursor (from `cursor_of`) holds, each checked against its field of `model`: for a page
    read by a hand-written query, which bounds its rows by them as `keyset_page` does."""
    return _checked(model, order, _decode(cursor, len(order)))


def cursor_of(item: models.Model, order: Sequence[str]) -> str:
    """The cursor of the page after `item`, as `keyset_page` writes it."""
    return _encode([_value(item, name) for name in order])


def _value(item: models.Model, path: str) -> Any:
    value: Any = item
    for part in path.split("__"):
        value = getattr(value, part)
    return value


def keyset_merge[M: models.Model](
    parts: Sequence[QuerySet[M]], rows: QuerySet[M], *, order: Sequence[str], cursor: str | None, size: int
) -> Page[M]:
    """One page of the union of `parts` (querysets of one model, e.g. one per channel), in descending
    `order`: each part walks its own index for at most a page, and only those rows are merged — instead
    of one `IN (…)` query that sorts every row of every part. `rows` then reads the page's objects."""
    after = _after(order, _checked(rows.model, order, _decode(cursor, len(order)))) if cursor else None
    selects: list[str] = []
    params: list[Any] = []
    for index, part in enumerate(parts):
        if after is not None:
            part = part.filter(after)
        query = part.order_by(*[f"-{name}" for name in order]).values_list("pk", *order)[: size + 1].query
        sql, part_params = query.sql_with_params()
        selects.append(f"SELECT * FROM ({sql}) AS part{index}")  # noqa: S608  (SQL compiled by the ORM)
        params.extend(part_params)
    if not selects:
        return Page(items=[], next=None)
    positions = ", ".join(f"{position + 2} DESC" for position in range(len(order)))
    with connections[rows.db].cursor() as db:
        db.execute(" UNION ALL ".join(selects) + f" ORDER BY {positions} LIMIT {size + 1}", params)
        keys = [row[0] for row in db.fetchall()]
    found = {item.pk: item for item in rows.filter(pk__in=keys[:size])}
    items = [found[key] for key in keys[:size] if key in found]
    more = len(keys) > size
    next_cursor = _encode([_value(items[-1], name) for name in order]) if more and items else None
    return Page(items=items, next=next_cursor)
