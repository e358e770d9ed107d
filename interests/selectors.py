"""Reads on channels: explore, search, one channel as a viewer sees it."""

from functools import cache

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from core import rawsql
from core.errors import NotFound, ServiceError
from core.pagination import Page, keyset_page

from .categories import CATEGORIES
from .models import Channel, Membership

SORTS = {
    "active": ["last_post_at", "public_id"],
    "new": ["created_at", "public_id"],
    "popular": ["member_count", "public_id"],
}
SEARCH_MAX = 100


def _visible(viewer: User | None, *, related: bool = True) -> QuerySet[Channel]:
    channels = Channel.objects.filter(is_closed=False)
    if related:
        channels = channels.select_related("host", "punch_clock")
    if viewer is not None and viewer.is_authenticated:
        channels = channels.annotate(joined=Exists(Membership.objects.filter(channel=OuterRef("pk"), user=viewer)))
    return channels


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
    (Explore's cards show neither: 40 model instances fewer a page).
    """
    if sort not in SORTS:
        raise ServiceError("invalid_sort", _("Sort by active, new or popular."), field="sort")
    if category and category not in CATEGORIES:
        raise ServiceError("invalid_category", _("No such category."), field="category")
    channels = _visible(viewer, related=with_host)
    if category:
        channels = channels.filter(category=category)
    terms = q.strip()[:SEARCH_MAX].split()
    for term in terms:
        channels = channels.filter(Q(name__icontains=term) | Q(description__icontains=term))
    return keyset_page(channels, order=SORTS[sort], cursor=cursor, size=size)


@cache
def _channel_get_sql(with_joined: bool) -> str:
    """`_visible(viewer).filter(public_id=…)` written out: the channel, its host and its punch clock (LEFT
    JOINs, as select_related), and whether the viewer joined (the same EXISTS)."""
    clock = Channel.punch_clock.related.related_model
    joined = (
        ", EXISTS (SELECT 1 FROM interests_membership m WHERE m.channel_id = c.id AND m.user_id = %s)"
        if with_joined
        else ""
    )
    return (
        f"SELECT {rawsql.select_list(Channel, 'c')}, {rawsql.select_list(User, 'h')},"  # noqa: S608  (names from the models)
        f" {rawsql.select_list(clock, 'k')}{joined}"
        " FROM interests_channel c LEFT JOIN accounts_user h ON h.id = c.host_id"
        " LEFT JOIN punches_punchclock k ON k.channel_id = c.id"
        " WHERE c.public_id = %s AND c.is_closed = %s"
    )


def channel_get(*, viewer: User | None, public_id: str) -> Channel:
    """An open channel with its host and punch clock, and (for a signed-in viewer) `joined`: as
    `_visible(viewer)` reads it, by one hand-written query (core/rawsql.py) — every channel page, its
    posts' API and a dozen other views start here, and the ORM spent ~1.5 ms of CPU building it."""
    with_joined = viewer is not None and viewer.is_authenticated
    params: list[object] = [viewer.pk] if with_joined and viewer is not None else []
    rows = rawsql.fetch_all(_channel_get_sql(with_joined), [*params, public_id, False])
    if not rows:
        raise NotFound(_("No such channel."))
    row = rows[0]
    channel = rawsql.instance(Channel, row)
    assert channel is not None
    start = rawsql.width(Channel)
    host = rawsql.instance(User, row, start)
    start += rawsql.width(User)
    clock_model = Channel.punch_clock.related.related_model
    clock = rawsql.instance(clock_model, row, start)
    Channel.host.field.set_cached_value(channel, host)
    Channel.punch_clock.related.set_cached_value(channel, clock)  # as select_related("punch_clock") does
    if clock is not None:
        Channel.punch_clock.related.field.set_cached_value(clock, channel)
    if with_joined:
        channel.joined = bool(row[start + rawsql.width(clock_model)])  # type: ignore[attr-defined]  # as annotated
    return channel


def channels_joined(*, user: User) -> list[Channel]:
    return list(Channel.objects.filter(memberships__user=user, is_closed=False).order_by("-last_post_at", "-public_id"))


def is_member(*, user: User, channel: Channel) -> bool:
    return Membership.objects.filter(channel=channel, user=user).exists()
