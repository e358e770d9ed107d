"""/ads: the house ad a native app shows where the web shows one (Home, Explore, a channel), its
click and its dismissal — through the same selectors and services as the web's ad slot.

Nothing about the person is stored or sent: the slot is drawn afresh for each page view, and
"hide ads for a day" is kept by the device (the answer says until when); the web keeps it in a
signed cookie, which this API honours too.
"""

import random
from contextlib import suppress
from datetime import datetime, timedelta

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from ninja import Router, Schema

from ads import selectors, services
from ads.hiding import HIDE_SECONDS, ads_hidden
from ads.models import Campaign
from api.auth import AUTH
from api.schemas import ErrorOut
from core.errors import NotFound, RateLimited
from core.http import client_ip
from core.ratelimit import rate_limit_hit

router = Router(tags=["ads"], auth=AUTH)
_rng = random.SystemRandom()


class AdOut(Schema):
    id: str
    text: str
    image_url: str | None
    image_width: int | None
    image_height: int | None
    link_host: str  # shown on the card: where a tap goes
    click_url: str  # open this (a counting redirect to the campaign's link), or POST /ads/{id}/click


class SlotOut(Schema):
    ad: AdOut | None  # most page views show none


class ClickOut(Schema):
    url: str  # the campaign's own link; nothing about the person is added to it


class DismissIn(Schema):
    ad_id: str = ""


class DismissOut(Schema):
    hidden_until: datetime  # ask for no slot before then


def _ad_out(request: HttpRequest, campaign: Campaign) -> AdOut:
    return AdOut(
        id=campaign.public_id,
        text=campaign.text,
        image_url=request.build_absolute_uri(campaign.image.url) if campaign.image else None,
        image_width=campaign.image_width,
        image_height=campaign.image_height,
        link_host=campaign.link_host,
        click_url=request.build_absolute_uri(reverse("ads:click", args=[campaign.public_id])),
    )


@router.get("/ads/slot", response={200: SlotOut, 400: ErrorOut, 401: ErrorOut})
def slot(request: HttpRequest, where: str, channel: str = "", category: str = "") -> SlotOut:
    """The ad for this page view, if any: `where` is `home`, `explore` (with the `category` it is
    filtered to) or `channel` (with the channel's id). About one view in `ADS_EVERY_N_VIEWS` shows
    one; its impression is counted. `{ad: null}` otherwise, and for an unknown place."""
    if not settings.ADS_ENABLED or ads_hidden(request):
        return SlotOut(ad=None)
    shows, slot_category = selectors.slot_place(where=where, channel_id=channel, category=category)
    if not shows:
        return SlotOut(ad=None)
    campaign = services.ad_serve(category=slot_category, every_n_views=settings.ADS_EVERY_N_VIEWS, rng=_rng)
    return SlotOut(ad=_ad_out(request, campaign) if campaign else None)


@router.post("/ads/{ad_id}/click", response={200: ClickOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut})
def click(request: HttpRequest, ad_id: str) -> ClickOut:
    """Count a tap on the ad (a few times an hour from one address at most) and answer its link."""
    campaign = selectors.campaign_get(public_id=ad_id)
    try:
        rate_limit_hit(scope="ad_click_ip", key=f"{client_ip(request)}:{campaign.public_id}")
    except RateLimited:
        pass  # the link works anyway; the click is not counted again
    else:
        services.click_record(campaign=campaign)
    return ClickOut(url=campaign.link_url)


@router.post("/ads/dismiss", response={200: DismissOut, 400: ErrorOut, 401: ErrorOut})
def dismiss(request: HttpRequest, payload: DismissIn) -> DismissOut:
    """Hide ads for a day: the dismissal of `ad_id` is counted (an unknown id is not), and the
    device keeps `hidden_until`; nothing is stored about the person."""
    with suppress(NotFound):
        services.dismissal_record(campaign=selectors.campaign_get(public_id=payload.ad_id))
    return DismissOut(hidden_until=timezone.now() + timedelta(seconds=HIDE_SECONDS))
