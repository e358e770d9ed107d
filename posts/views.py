"""Post pages and actions: write, delete, press *same*."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from core.errors import ServiceError
from core.forms import add_service_error
from core.http import HtmxHttpRequest, signed_in_user
from core.pages import render_page
from interests.selectors import channel_get

from . import cards, selectors, services
from .cards import Viewer
from .composers import composer_for
from .polls import poll_vote
from .selectors import home_feed


@require_GET
@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    page = home_feed(user=signed_in_user(request), cursor=request.GET.get("cursor") or None)
    if request.htmx and request.GET.get("cursor"):
        return render_page(
            request, "posts/_feed.html#post_rows", {"page": page, "more_url": request.path, "show_channel": True}
        )
    return render_page(request, "posts/home.html", {"page": page})


@require_POST
@login_required
def create(request: HtmxHttpRequest, channel_id: str) -> HttpResponse:
    """Post with the composer of the channel's kind; errors come back next to their fields."""
    viewer = signed_in_user(request)
    channel = channel_get(viewer=viewer, public_id=channel_id)
    composer = composer_for(channel)
    if composer is None:
        raise ServiceError("no_composer", _("Nothing can be posted here directly."))
    services.check_post_rate(author=viewer)
    form = composer.form(request.POST, request.FILES)
    if form.is_valid():
        try:
            composer.create(viewer, channel, form.cleaned_data)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            return redirect("interests:channel", public_id=channel.public_id)
    feed = selectors.channel_posts(viewer=viewer, channel=channel)
    context = {
        "channel": channel,
        "page": feed.page,
        "pinned": feed.pinned,
        "form": form,
        "composer": composer,
        "is_host": channel.host_id == viewer.pk,
    }
    return render(request, "interests/channel.html", context, status=400)


@require_POST
@login_required
def vote(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    post = selectors.post_get(viewer=viewer, public_id=public_id)
    try:
        poll_vote(user=viewer, post=post, option_ids=request.POST.getlist("option"))
    except ServiceError as error:
        if not request.htmx:
            messages.error(request, error.message)
            return redirect("posts:detail", public_id=public_id)
        post = selectors.post_get(viewer=viewer, public_id=public_id)
        return HttpResponse(cards.poll_block(post, Viewer.of_request(request), error.message), status=error.status)
    post = selectors.post_get(viewer=viewer, public_id=public_id)
    if request.htmx:
        return HttpResponse(cards.poll_block(post, Viewer.of_request(request)))
    return redirect("posts:detail", public_id=public_id)


@require_GET
@login_required
def detail(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    post = selectors.post_get(viewer=viewer, public_id=public_id)
    return render(
        request, "posts/detail.html", {"post": post, "same_people": selectors.same_people(post=post, viewer=viewer)}
    )


@require_POST
@login_required
def same(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    """Toggle *same*; htmx swaps the button in place, without htmx the page reloads."""
    viewer = signed_in_user(request)
    post = selectors.post_get(viewer=viewer, public_id=public_id)
    pressed = request.POST.get("pressed") != "1"
    try:
        if pressed:
            services.same_add(user=viewer, post=post)
        else:
            services.same_remove(user=viewer, post=post)
    except ServiceError as error:
        if not request.htmx:
            messages.error(request, error.message)
            return redirect("posts:detail", public_id=public_id)
        return HttpResponse(cards.same_button(post, Viewer.of_request(request), error.message), status=error.status)
    post = selectors.post_get(viewer=viewer, public_id=public_id)  # fresh count and state
    if request.htmx:
        return HttpResponse(cards.same_button(post, Viewer.of_request(request)))
    next_url = request.POST.get("next", "")
    if next_url.startswith("/") and not next_url.startswith("//"):
        return redirect(next_url)
    return redirect("posts:detail", public_id=public_id)


@require_POST
@login_required
def delete(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    post = selectors.post_get(viewer=viewer, public_id=public_id)
    channel_id = post.channel.public_id
    try:
        services.post_delete(post=post, by=viewer)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("posts:detail", public_id=public_id)
    messages.success(request, _("Your post is deleted."))
    return redirect("interests:channel", public_id=channel_id)
