"""Reads on channels: explore, search, one channel as a viewer sees it."""

from datetime import datetime
from functools import cache

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from core import rawsql
from core.errors import NotFound, ServiceError
from core.pagination import Page, cursor_of, cursor_values

from .categories import CATEGORIES
from .models import Channel, Membership

SORTS = {
    "active": ["last_post_at", "public_id"],
    "new": ["created_at", "public_id"],
    "popular": ["member_count", "public_id"],
}
SEARCH_MAX = 100


def _visible(viewer: User | None, *, related: bool = True) -> QuerySet[Channel]:
    """Open channels as a viewer sees them, through the ORM: what `channel_list` and `channel_get` read by their
    hand-written SELECTs (tests/test_channels.py compares them with it)."""
    channels = Channel.objects.filter(is_closed=False)
    if related:
        channels = channels.select_related("host", "punch_clock")
    if viewer is not None and viewer.is_authenticated:
        channels = channels.annotate(joined=Exists(Membership.objects.filter(channel=OuterRef("pk"), user=viewer)))
    return channels


@cache
def _channels_sql(*, with_related: bool, with_joined: bool) -> str:
    """`_visible(viewer, related=…)` written out, up to its WHERE: the channel, with its host and punch clock
    (LEFT JOINs, as select_related) when `with_related`, and whether the viewer joined (the same EXISTS) when
    `with_joined` — that first parameter is the viewer's id."""
    columns = rawsql.select_list(Channel, "c")
    joins = ""
    if with_related:
        clock = Channel.punch_clock.related.related_model
        columns += f", {rawsql.select_list(User, 'h')}, {rawsql.select_list(clock, 'k')}"
        joins = " LEFT JOIN accounts_user h ON h.id = c.host_id LEFT JOIN punches_punchclock k ON k.channel_id = c.id"
    if with_joined:
        columns += ", EXISTS (SELECT 1 FROM interests_membership m WHERE m.channel_id = c.id AND m.user_id = %s)"
    return f"SELECT {columns} FROM interests_channel c{joins} WHERE c.is_closed = %s"  # noqa: S608  (from the models)


def _channel_of(row: tuple[object, ...], *, with_related: bool, with_joined: bool) -> Channel:
    """The channel of a row `_channels_sql` wrote, as the ORM would have made it."""
    channel = rawsql.instance(Channel, row)
    assert channel is not None
    start = rawsql.width(Channel)
    if with_related:
        clock_model = Channel.punch_clock.related.related_model
        host = rawsql.instance(User, row, start)
        clock = rawsql.instance(clock_model, row, start + rawsql.width(User))
        start += rawsql.width(User) + rawsql.width(clock_model)
        Channel.host.field.set_cached_value(channel, host)
        Channel.punch_clock.related.set_cached_value(channel, clock)  # as select_related("punch_clock") does
        if clock is not None:
            Channel.punch_clock.related.field.set_cached_value(clock, channel)
    if with_joined:
        channel.joined = bool(row[start])  # type: ignore[attr-defined]  # as the ORM's annotation
    return channel


def _viewer_pk(viewer: User | None) -> int | None:
    """The viewer's id when `joined` is to be read (a signed-in viewer), else None."""
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def channel_list(
    *,
    viewer: User | None,
    q: str = "",
    category: str = "",
    sort: str = "active",
    cursor: str | None = None,
    size: int = 20,
    with_host: bool = True,
) -> Page[Channel]:
    """Channels, small ones too, filtered by category and by words in the name or description.

    Substring matching works the same for Chinese (no spaces between words) and English; on
    PostgreSQL a trigram index serves it. `with_host=False` leaves out the host and the punch clock
    (Explore's cards show neither: 40 model instances fewer a page). One hand-written query
    (core/rawsql.py), as `keyset_page` over `_visible(viewer)` filtered would read it (Explore and the API's
    list start here; the ORM spent ~1.2 ms of CPU building it); the words are matched with the database's
    own `icontains` (its operator, its cast and its LIKE escaping), as the ORM writes it.
    """
    if sort not in SORTS:
        raise ServiceError("invalid_sort", _("Sort by active, new or popular."), field="sort")
    if category and category not in CATEGORIES:
        raise ServiceError("invalid_category", _("No such category."), field="category")
    order = SORTS[sort]
    after = cursor_values(Channel, order, cursor) if cursor else []
    viewer_pk = _viewer_pk(viewer)
    sql = _channels_sql(with_related=with_host, with_joined=viewer_pk is not None)
    params: list[object] = [] if viewer_pk is None else [viewer_pk]
    params.append(False)
    if category:
        sql += " AND c.category = %s"
        params.append(category)
    terms = q.strip()[:SEARCH_MAX].split()
    if terms:
        lhs = connection.ops.lookup_cast("icontains", "CharField")
        match = connection.operators["icontains"] % "%s"  # type: ignore[attr-defined]  # every backend has it
        either = f"({lhs % 'c.name'} {match} OR {lhs % 'c.description'} {match})"
    for term in terms:
        pattern = f"%{connection.ops.prep_for_like_query(term)}%"
        sql += f" AND {either}"
        params += [pattern, pattern]
    if after:
        sql += f" AND (c.{order[0]}, c.public_id) < (%s, %s)"
        params += [connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in after]
    sql += f" ORDER BY c.{order[0]} DESC, c.public_id DESC LIMIT %s"
    params.append(size + 1)
    rows = [
        _channel_of(row, with_related=with_host, with_joined=viewer_pk is not None)
        for row in rawsql.fetch_all(sql, params)
    ]
    items, more = rows[:size], len(rows) > size
    return Page(items=items, next=cursor_of(items[-1], order) if more and items else None)


def channel_get(*, viewer: User | None, public_id: str) -> Channel:
    """An open channel with its host and punch clock, and (for a signed-in viewer) `joined`: as
    `_visible(viewer)` reads it, by one hand-written query (core/rawsql.py) — every channel page, its
    posts' API and a dozen other views start here, and the ORM spent ~1.5 ms of CPU building it."""
    viewer_pk = _viewer_pk(viewer)
    sql = _channels_sql(with_related=True, with_joined=viewer_pk is not None) + " AND c.public_id = %s"
    rows = rawsql.fetch_all(sql, [*([] if viewer_pk is None else [viewer_pk]), False, public_id])
    if not rows:
        raise NotFound(_("No such channel."))
    return _channel_of(rows[0], with_related=True, with_joined=viewer_pk is not None)


def channels_joined(*, user: User) -> list[Channel]:
    return list(Channel.objects.filter(memberships__user=user, is_closed=False).order_by("-last_post_at", "-public_id"))


def is_member(*, user: User, channel: Channel) -> bool:
    return Membership.objects.filter(channel=channel, user=user).exists()
