"""Writes on house ads: serving one (which counts an impression), counting clicks and dismissals, and
storing a campaign's picture without its metadata."""

import random
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.core.files.base import ContentFile
from django.db.models import F
from django.utils import timezone

from accounts.models import new_public_id
from core.errors import ServiceError
from media.errors import MediaError
from media.images import process_image

from . import selectors
from .models import Campaign, CampaignDay

IMAGE_MAX_SIDE = 1280
COUNTERS = frozenset({"impressions", "clicks", "dismissals"})


def _count(*, campaign: Campaign, counter: str, now: datetime | None = None, below: int | None = None) -> bool:
    """Add one to today's `counter` of `campaign`; with `below`, only while the counter is under it.

    Insert-if-missing then an `F()` update: two statements that concurrent requests can interleave
    freely without losing a count. Returns whether the count was taken.
    """
    if counter not in COUNTERS:
        raise ValueError(counter)
    day = selectors.site_day(now)
    CampaignDay.objects.bulk_create([CampaignDay(campaign=campaign, day=day)], ignore_conflicts=True)
    rows = CampaignDay.objects.filter(campaign=campaign, day=day)
    if below is not None:
        rows = rows.filter(**{f"{counter}__lt": below})
    return rows.update(**{counter: F(counter) + 1}) == 1


def ad_serve(
    *, category: str | None, every_n_views: int, rng: random.Random, now: datetime | None = None
) -> Campaign | None:
    """The ad this page view shows, its impression counted; None for most views, or when nothing is live.

    The cap is enforced by the counting update itself, so two requests racing for a campaign's last
    impression of the day cannot both show it: the loser draws again among the rest.
    """
    if not selectors.view_shows_ad(every_n_views=every_n_views, rng=rng):
        return None
    now = now or timezone.now()
    candidates = selectors.campaigns_live(category=category, now=now)
    while candidates:
        campaign = selectors.campaign_draw(campaigns=candidates, rng=rng)
        if campaign is None:
            break
        if _count(campaign=campaign, counter="impressions", now=now, below=campaign.daily_cap):
            return campaign
        candidates.remove(campaign)
    return None


def click_record(*, campaign: Campaign) -> None:
    _count(campaign=campaign, counter="clicks")


def dismissal_record(*, campaign: Campaign) -> None:
    _count(campaign=campaign, counter="dismissals")


@dataclass(frozen=True)
class AdImage:
    content: ContentFile[bytes]
    width: int
    height: int


def ad_image_process(*, upload: bytes | IO[bytes]) -> AdImage:
    """The picture re-encoded (EXIF, GPS and every other metadata left behind), ready to be saved."""
    try:
        processed = process_image(upload, max_side=IMAGE_MAX_SIDE)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field="image") from None
    content = ContentFile(processed.content, name=f"{new_public_id()}.{processed.extension}")
    return AdImage(content=content, width=processed.width, height=processed.height)


def campaign_create(
    *,
    name: str,
    text: str,
    link_url: str,
    ends_at: datetime,
    starts_at: datetime | None = None,
    weight: int = 1,
    categories: list[str] | None = None,
    daily_cap: int | None = None,
    image: bytes | None = None,
    is_active: bool = True,
) -> Campaign:
    """A campaign, validated like the admin form validates it (used by the demo data and tests)."""
    campaign = Campaign(
        name=name,
        text=text,
        link_url=link_url,
        starts_at=starts_at or timezone.now(),
        ends_at=ends_at,
        weight=weight,
        categories=categories or [],
        daily_cap=daily_cap,
        is_active=is_active,
    )
    campaign.full_clean()
    # The picture is checked before anything is stored, and stored only once the rest is valid.
    picture = ad_image_process(upload=image) if image is not None else None
    if picture is not None:
        campaign.image.save(picture.content.name or "ad", picture.content, save=False)
        campaign.image_width, campaign.image_height = picture.width, picture.height
    campaign.save()
    return campaign
