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
from django.utils.safestring import SafeString, mark_safe

from core.kept import Kept

from .. import selectors, services
from ..hiding import ads_hidden

register = template.Library()

_rng = random.SystemRandom()


# The slot without an ad (most views) is the same few bytes on every page: rendered once, then kept (core/kept.py).
_empty = Kept(limit=1)


@register.simple_tag(takes_context=True)
def ad_slot(context: template.Context, where: str, channel: Any = None, category: str = "") -> SafeString:
    """The slot (ads/_slot.html) as an inclusion tag rendered it — its own context, the page's CSRF token copied in —
    but the empty slot rendered once rather than on every view that draws no ad."""
    shown = _drawn(context, where, channel, category)
    if shown["campaign"] is None:
        return mark_safe(_empty.get("slot", lambda: _slot(context, shown)))  # noqa: S308  (a rendered template)
    return _slot(context, shown)


def _drawn(context: template.Context, where: str, channel: Any, category: str) -> dict[str, Any]:
    request = context.get("request")
    if not settings.ADS_ENABLED or request is None or not request.user.is_authenticated or ads_hidden(request):
        return {"campaign": None}
    slot_category = selectors.slot_category(
        where=where, channel_category=getattr(channel, "category", None), category=category or ""
    )
    campaign = services.ad_serve(category=slot_category, every_n_views=settings.ADS_EVERY_N_VIEWS, rng=_rng)
    return {"campaign": campaign, "next": request.get_full_path()}


def _slot(context: template.Context, values: dict[str, Any]) -> SafeString:
    """ads/_slot.html with `values`, as django.template.library.InclusionNode renders an inclusion tag's template."""
    slot = context.template.engine.get_template("ads/_slot.html")  # type: ignore[union-attr]  # rendering: a template
    shown = context.new(values)
    token = context.get("csrf_token")
    if token is not None:
        shown["csrf_token"] = token
    return slot.render(shown)
