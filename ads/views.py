"""The click counter and the dismissal (the card itself is drawn in the feed pages: ads/templatetags/ads.py)."""

from contextlib import suppress

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.errors import NotFound, RateLimited
from core.http import HtmxHttpRequest, client_ip
from core.ratelimit import rate_limit_hit

from . import selectors, services
from .hiding import hide_ads


@require_GET
@never_cache
def click(request: HttpRequest, public_id: str) -> HttpResponse:
    """Count the click, then go to the campaign's own stored link: no address is ever taken from the request."""
    campaign = selectors.campaign_get(public_id=public_id)
    try:
        # Counted at most a few times an hour from one address, so clicks can't be pumped; the link works anyway.
        rate_limit_hit(scope="ad_click_ip", key=f"{client_ip(request)}:{campaign.public_id}")
    except RateLimited:
        pass
    else:
        services.click_record(campaign=campaign)
    response = HttpResponseRedirect(campaign.link_url)
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_POST
@login_required
def dismiss(request: HtmxHttpRequest) -> HttpResponse:
    """Hide ads on this device for a day. The card is swapped for nothing; without htmx, back to the page."""
    with suppress(NotFound):  # an unknown campaign is not counted; ads are hidden all the same
        services.dismissal_record(campaign=selectors.campaign_get(public_id=request.POST.get("campaign", "")))
    if request.htmx:
        response = HttpResponse("")
    else:
        next_url = request.POST.get("next", "")
        safe = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
        response = redirect(next_url if safe else "core:home")
    hide_ads(response)
    return response
