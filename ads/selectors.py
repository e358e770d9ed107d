"""Reads on house ads: which campaigns are live for a feed, and whether this page view shows one."""

import random
from datetime import date, datetime

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from core import rawsql
from core.errors import NotFound
from interests.categories import CATEGORIES
from interests.selectors import channel_get

from .models import Campaign

PLACES = frozenset({"home", "explore", "channel"})


def slot_place(*, where: str, channel_id: str = "", category: str = "") -> tuple[bool, str | None]:
    """Whether an ad slot may show at `where` (home, explore or a channel), and the category it
    sits in: a channel's own, or the one Explore is filtered to (the web's slot and the API's)."""
    if where not in PLACES:
        return False, None
    if where == "channel":
        try:
            return True, channel_get(viewer=None, public_id=channel_id).category
        except NotFound:
            return False, None
    return True, slot_category(where=where, category=category)


def slot_category(*, where: str, channel_category: str | None = None, category: str = "") -> str | None:
    """The category an ad slot at `where` sits in: a channel's own, Explore's filter, none on Home."""
    if where == "channel":
        return channel_category
    return category if where == "explore" and category in CATEGORIES else None


def site_day(moment: datetime | None = None) -> date:
    """The day counters and caps belong to: the site's time zone, never the viewer's."""
    return timezone.localtime(moment or timezone.now(), timezone.get_default_timezone()).date()


_LIVE_SQL = (
    "SELECT {columns}, COALESCE((SELECT d.impressions FROM ads_campaignday d"
    " WHERE d.campaign_id = c.id AND d.day = %s LIMIT 1), 0)"
    " FROM ads_campaign c WHERE c.is_active = %s AND c.starts_at <= %s AND c.ends_at > %s ORDER BY c.id"
)


def campaigns_live(*, category: str | None, now: datetime | None = None) -> list[Campaign]:
    """Campaigns that may be shown now beside `category` (a channel's, or None on Home and Explore).

    Live: active, started, not ended, and under today's impression cap. Untargeted campaigns fit
    everywhere; a targeted one only where its category is. Targeting and the cap are checked here rather
    than in SQL because house ads are few and JSON containment is not portable to SQLite. One hand-written
    query (core/rawsql.py): a page view that draws an ad runs it, and the ORM spent ~1.5 ms of CPU building
    it. `shown_today` on each: its impressions today.
    """
    now = now or timezone.now()
    when = connection.ops.adapt_datetimefield_value(now)
    sql = _LIVE_SQL.format(columns=rawsql.select_list(Campaign, "c"))
    rows = rawsql.fetch_all(sql, [connection.ops.adapt_datefield_value(site_day(now)), True, when, when])
    live = []
    for row in rows:
        campaign = rawsql.instance(Campaign, row)
        assert campaign is not None
        campaign.shown_today = row[-1]  # type: ignore[attr-defined]  # as the ORM's annotation was named
        if campaign.daily_cap is not None and campaign.shown_today >= campaign.daily_cap:  # type: ignore[attr-defined]
            continue
        if not campaign.categories or (category is not None and category in campaign.categories):
            live.append(campaign)
    return live


def campaign_draw(*, campaigns: list[Campaign], rng: random.Random) -> Campaign | None:
    """One of `campaigns`, each with a chance proportional to its weight."""
    if not campaigns:
        return None
    return rng.choices(campaigns, weights=[c.weight for c in campaigns])[0]


def view_shows_ad(*, every_n_views: int, rng: random.Random) -> bool:
    """About one page view in `every_n_views` shows an ad (0 or less: none). A fresh draw per view: no
    counting of anyone's views, so nothing about a person is needed."""
    if every_n_views <= 0:
        return False
    return rng.randrange(every_n_views) == 0


def campaign_get(*, public_id: str) -> Campaign:
    campaign = Campaign.objects.filter(public_id=public_id).first()
    if campaign is None:
        raise NotFound(_("No such ad."))
    return campaign
