"""Pages: the "Channels for you" strip Explore loads, Discover, "not interested" and the switch."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from core.http import HtmxHttpRequest, signed_in_user
from core.pages import render_page
from interests.selectors import channel_get
from posts.selectors import post_get

from . import selectors, services


def _next(request: HtmxHttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else default


@require_GET
@login_required
def for_you(request: HtmxHttpRequest) -> HttpResponse:
    """The strip at the top of Explore (htmx, on load), or a page of its own without htmx."""
    viewer = signed_in_user(request)
    prefs = selectors.prefs_get(user=viewer)
    services.refresh_if_due(user=viewer, prefs=prefs)
    context = {"picks": selectors.channel_picks(viewer=viewer, prefs=prefs), "prefs": prefs}
    if request.htmx:
        return render_page(request, "recommendations/for_you.html#strip", context)
    return render_page(request, "recommendations/for_you.html", context)


@require_GET
@login_required
def discover(request: HtmxHttpRequest) -> HttpResponse:
    viewer = signed_in_user(request)
    prefs = selectors.prefs_get(user=viewer)
    services.refresh_if_due(user=viewer, prefs=prefs)
    page = selectors.post_picks(viewer=viewer, cursor=request.GET.get("cursor") or None, prefs=prefs)
    context = {"page": page, "prefs": prefs}
    if request.htmx and request.GET.get("cursor"):
        return render_page(request, "recommendations/discover.html#rows", context)
    return render_page(request, "recommendations/discover.html", context)


@require_POST
@login_required
def not_interested(request: HtmxHttpRequest) -> HttpResponse:
    """Dismiss a channel (`channel_id`) or a post (`post_id`); htmx removes the card in place."""
    viewer = signed_in_user(request)
    channel_id, post_id = request.POST.get("channel_id"), request.POST.get("post_id")
    channel = channel_get(viewer=viewer, public_id=channel_id) if channel_id else None
    post = post_get(viewer=viewer, public_id=post_id) if post_id and not channel_id else None
    services.not_interested_add(user=viewer, channel=channel, post=post)
    if request.htmx:
        return HttpResponse("")
    return redirect(_next(request, "recommendations:discover"))


@require_POST
@login_required
def personalise(request: HtmxHttpRequest) -> HttpResponse:
    services.prefs_update(user=signed_in_user(request), personalised=request.POST.get("personalised") == "on")
    return redirect(_next(request, "recommendations:discover"))
