"""How many messages a person may send: counted in the database, from the messages they stored.

The limits are `settings.RATE_LIMITS["message_account"]` (every account) and `["message_new_account"]` (an
account's first day), each (messages, seconds): a message is refused while the person already stored that many in
the last that many seconds — a sliding window over their own rows, read in the transaction that stores the next.
Nothing is kept beside the messages, so there is nothing to count before the send's own round trip to the
database: a socket's text judges its limits inside the one statement that stores it (`SQL_CONDITION`), where a
counter in Redis had to answer before that statement could go out (~0.7 ms of each send: docs/performance.md).
Exact across processes and through a Redis outage; a resend, which stores nothing, counts nothing. Two sends of
one person whose transactions overlap each read the other's as not there yet, so a burst may pass the limit by the
sends in flight at the same instant (a person's sockets and tabs: a few).
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from accounts.models import User
from accounts.newcomers import is_new_account
from core.errors import RateLimited
from core.prepared import Prepared
from core.ratelimit import Allowance, remember_allowance

from .models import Message, MessageKind

_SCOPES = ("message_account", "message_new_account")


@dataclass(frozen=True)
class Limit:
    count: int
    window: int  # seconds; 0: does not apply to this person (no message is newer than now)


def message_limits(sender: User) -> tuple[Limit, Limit]:
    """The account's limit, and the new account's (a window of 0 once the account is a day old): always two, so that
    the statements judging them have one shape for everyone."""
    limits = [Limit(*settings.RATE_LIMITS[scope]) for scope in _SCOPES]
    if not is_new_account(sender):
        limits[1] = Limit(count=limits[1].count, window=0)
    return limits[0], limits[1]


# What the person sent: not "ana joined", which the server writes in their name.
_SENT = f"m.sender_id = %s AND m.created_at > %s AND m.kind <> '{MessageKind.EVENT.value}'"
# Each limit: the sender's messages newer than the window's start, at most as many as the limit (an index range
# on (sender, created_at), never more rows than that), fewer than the limit.
_WITHIN = f"(SELECT count(*) FROM (SELECT 1 FROM chat_message m WHERE {_SENT} LIMIT %s) r) < %s"  # noqa: S608
SQL_CONDITION = f"{_WITHIN} AND {_WITHIN}"


def sql_condition_params(sender: User, now: datetime) -> list[Any]:
    """`SQL_CONDITION`'s parameters: the condition holds if the next message keeps within both limits."""
    params: list[Any] = []
    for limit in message_limits(sender):
        since = connection.ops.adapt_datetimefield_value(now - timedelta(seconds=limit.window))
        params += [sender.pk, since, limit.count, limit.count]
    return params


# For the thread's way, which judges in Python (and says how long to wait): per limit, how many of the window's
# messages there are, up to the limit, and the oldest of those (the one whose leaving lets the next in).
RECENT = Prepared(
    "same_chat_recent_messages",
    "SELECT count(*), min(r.created_at) FROM (SELECT m.created_at FROM chat_message m"  # noqa: S608
    f" WHERE {_SENT} ORDER BY m.created_at DESC LIMIT %s) r",
)


def recent_params(sender: User, now: datetime) -> list[list[Any]]:
    """`RECENT`'s parameters, one list per limit."""
    return [
        [sender.pk, connection.ops.adapt_datetimefield_value(now - timedelta(seconds=limit.window)), limit.count]
        for limit in message_limits(sender)
    ]


def judge(sender: User, now: datetime, recent: list[tuple[int, datetime | None]]) -> None:
    """Raise RateLimited if the next message would pass a limit, given for each limit how many of its window's
    messages there are (up to the limit) and the oldest of those; either way note what is left of each (the
    API's RateLimit-* headers keep the tightest)."""
    refused = None
    for limit, (count, oldest) in zip(message_limits(sender), recent, strict=True):
        if limit.window == 0:
            continue
        # When a place frees: as the oldest of the window's messages leaves it.
        frees = limit.window if oldest is None else (oldest + timedelta(seconds=limit.window) - now).total_seconds()
        reset = max(1, math.ceil(frees))
        remember_allowance(Allowance(limit=limit.count, remaining=max(0, limit.count - count - 1), reset=reset))
        if count >= limit.count and (refused is None or reset > refused):
            refused = reset
    if refused is not None:
        raise RateLimited(retry_after=refused)


def check(sender: User, now: datetime) -> None:
    """`judge` with the counts read now, in one query through the ORM (any database): before a message is stored
    in a transaction of its own, or before its attachment is processed (the send judges again)."""
    limits = message_limits(sender)
    applying = [limit for limit in limits if limit.window]
    times = list(  # newest first: each limit's window is a beginning of it
        Message.objects.filter(
            sender=sender, created_at__gt=now - timedelta(seconds=max(limit.window for limit in applying))
        )
        .exclude(kind=MessageKind.EVENT)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[: max(limit.count for limit in applying)]
    )
    recent: list[tuple[int, datetime | None]] = []
    for limit in limits:
        within = [time for time in times if time > now - timedelta(seconds=limit.window)][: limit.count]
        recent.append((len(within), within[-1] if within else None))
    judge(sender, now, recent)
