"""Keyset (cursor) pagination: no OFFSET, no COUNT, the same cost on page 1 and page 1,000.

A list is ordered by a few fields, newest or biggest first, ending in a unique one; the cursor
is those fields' values on the last item of a page, encoded opaquely.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.db import models
from django.db.models import Q, QuerySet

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
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise ServiceError(
            "invalid_cursor", "This page link is not valid; start from the first page.", field="cursor"
        ) from None


def _after(fields: Sequence[str], values: Sequence[Any], *, ascending: bool = False) -> Q:
    """Rows strictly after `values` in descending order of `fields`: (a < x) or (a = x and b < y) …
    (or in ascending order: a > x …)."""
    condition = Q()
    lookup = "gt" if ascending else "lt"
    for index, name in enumerate(fields):
        step = Q(**{f"{name}__{lookup}": values[index]})
        for previous, value in zip(fields[:index], values[:index], strict=True):
            step &= Q(**{previous: value})
        condition |= step
    return condition


def keyset_page[M: models.Model](
    queryset: QuerySet[M], *, order: Sequence[str], cursor: str | None, size: int, ascending: bool = False
) -> Page[M]:
    """One page of `queryset`, ordered by `order` descending, or ascending (the last field must be
    unique)."""
    if cursor:
        queryset = queryset.filter(_after(order, _decode(cursor, len(order)), ascending=ascending))
    sign = "" if ascending else "-"
    rows = list(queryset.order_by(*[f"{sign}{name}" for name in order])[: size + 1])
    items, more = rows[:size], len(rows) > size
    next_cursor = _encode([_value(items[-1], name) for name in order]) if more and items else None
    return Page(items=items, next=next_cursor)


def _value(item: models.Model, path: str) -> Any:
    value: Any = item
    for part in path.split("__"):
        value = getattr(value, part)
    return value
