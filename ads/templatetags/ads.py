"""`{% ad_slot "home" %}`: the ad card of this page view, drawn while the page is rendered, or nothing.

Drawn in the page rather than fetched after it, so a card never pushes the feed down once it is on screen
(a layout shift). Most views show no ad: the draw is a random number, no database; only a view that shows one
reads the live campaigns and counts the impression (three queries). Nothing at all when ads are off or hidden
on this device.
"""

import random
from typing import Any

from django import template
from django.conf import settings

from .. import selectors, services
from ..hiding import ads_hidden

register = template.Library()

_rng = random.SystemRandom()


@register.inclusion_tag("ads/_slot.html", takes_context=True)
def ad_slot(context: template.Context, where: str, channel: Any = None, category: str = "") -> dict[str, Any]:
    request = context.get("request")
    if not settings.ADS_ENABLED or request is None or not request.user.is_authenticated or ads_hidden(request):
        return {"campaign": None}
    slot_category = selectors.slot_category(
        where=where, channel_category=getattr(channel, "category", None), category=category or ""
    )
    campaign = services.ad_serve(category=slot_category, every_n_views=settings.ADS_EVERY_N_VIEWS, rng=_rng)
    return {"campaign": campaign, "next": request.get_full_path()}
