"""`{% ad_slot "home" %}`: the placeholder a feed page renders; htmx fills it after the page has loaded.

It renders nothing when ads are off or hidden on this device, so those pages make no extra request.
It reads no database, so the feed pages' query counts stay as they are.
"""

from typing import Any

from django import template
from django.conf import settings

from ..hiding import ads_hidden

register = template.Library()


@register.inclusion_tag("ads/_slot.html", takes_context=True)
def ad_slot(context: template.Context, where: str, channel: Any = None, category: str = "") -> dict[str, Any]:
    request = context.get("request")
    show = bool(settings.ADS_ENABLED and request is not None and not ads_hidden(request))
    return {
        "show": show,
        "where": where,
        "channel_id": getattr(channel, "public_id", "") if channel is not None else "",
        "category": category or "",
    }
