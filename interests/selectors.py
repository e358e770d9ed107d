"""Reads on channels: explore, search, one channel as a viewer sees it."""

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
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


def channel_get(*, viewer: User | None, public_id: str) -> Channel:
    channel = _visible(viewer).filter(public_id=public_id).first()
    if channel is None:
        raise NotFound(_("No such channel."))
    return channel


def channels_joined(*, user: User) -> list[Channel]:
    return list(Channel.objects.filter(memberships__user=user, is_closed=False).order_by("-last_post_at", "-public_id"))


def is_member(*, user: User, channel: Channel) -> bool:
    return Membership.objects.filter(channel=channel, user=user).exists()
