"""Channel pages: explore, create, a channel and its posts, the host's settings."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ServiceError
from core.forms import add_service_error
from core.http import HtmxHttpRequest, signed_in_user
from core.pages import render_page
from moderation.selectors import channel_log, channel_reports
from posts.composers import composer_for
from posts.selectors import channel_posts
from punches.views import panel_context as punch_panel_context

from . import selectors, services
from .categories import CATEGORIES
from .forms import ChannelForm, ChannelSettingsForm, TransferForm
from .models import ChannelKind


@require_GET
@login_required
def explore(request: HtmxHttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")
    category = request.GET.get("category", "")
    sort = request.GET.get("sort", "active")
    try:
        page = selectors.channel_list(
            viewer=signed_in_user(request),
            q=q,
            category=category,
            sort=sort,
            cursor=request.GET.get("cursor") or None,
            with_host=False,
        )
    except ServiceError as error:
        return render(request, "interests/explore.html", {"error": error.message, "categories": CATEGORIES}, status=400)
    context = {"page": page, "q": q, "category": category, "sort": sort, "categories": CATEGORIES}
    if request.htmx and request.GET.get("cursor"):
        return render_page(request, "interests/explore.html#channel_rows", context)
    if request.htmx and request.htmx.target == "channel-results":
        return render_page(request, "interests/explore.html#results", context)
    return render_page(request, "interests/explore.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def channel_new(request: HtmxHttpRequest) -> HttpResponse:
    form = ChannelForm(request.POST or None, request.FILES or None, initial={"kind": ChannelKind.TEXT})
    if request.method == "POST" and form.is_valid():
        try:
            channel = services.channel_create(
                host=signed_in_user(request),
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                rule=form.cleaned_data["rule"],
                kind=form.cleaned_data["kind"],
                category=form.cleaned_data["category"],
                cover=form.cleaned_data["cover"] or None,
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Your channel is open. Say the first thing."))
            return redirect("interests:channel", public_id=channel.public_id)
    status = 400 if form.errors else 200
    return render(request, "interests/channel_new.html", {"form": form, "kinds": ChannelKind}, status=status)


@require_GET
@login_required
def channel(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    found = selectors.channel_get(viewer=viewer, public_id=public_id)
    feed = channel_posts(viewer=viewer, channel=found, cursor=request.GET.get("cursor") or None)
    composer = composer_for(found)
    context = {
        "channel": found,
        "page": feed.page,
        "pinned": feed.pinned,
        "is_host": found.host_id == viewer.pk,
        "composer": composer,
        "form": composer.form() if composer else None,
    }
    if found.kind == ChannelKind.PUNCH and getattr(found, "joined", False):
        context.update(punch_panel_context(viewer=viewer, channel=found))
    if request.htmx and request.GET.get("cursor"):
        return render_page(request, "posts/_feed.html#post_rows", {**context, "more_url": request.path})
    return render_page(request, "interests/channel.html", context)


@require_POST
@login_required
def join(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    found = selectors.channel_get(viewer=viewer, public_id=public_id)
    try:
        if request.POST.get("action") == "leave":
            services.channel_leave(user=viewer, channel=found)
        else:
            services.channel_join(user=viewer, channel=found)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("interests:channel", public_id=public_id)


@require_http_methods(["GET", "POST"])
@login_required
def channel_settings(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    found = selectors.channel_get(viewer=viewer, public_id=public_id)
    if found.host_id != viewer.pk:
        return render(request, "interests/not_host.html", {"channel": found}, status=403)
    form = ChannelSettingsForm(
        request.POST if request.POST.get("form") == "settings" else None,
        initial={"description": found.description, "rule": found.rule},
    )
    transfer = TransferForm(request.POST if request.POST.get("form") == "transfer" else None)
    if request.method == "POST":
        try:
            if form.is_bound and form.is_valid():
                services.channel_update(channel=found, by=viewer, **form.cleaned_data)
                messages.success(request, _("Saved."))
                return redirect("interests:channel", public_id=public_id)
            if transfer.is_bound and transfer.is_valid():
                services.channel_transfer(channel=found, by=viewer, to_username=transfer.cleaned_data["username"])
                messages.success(request, _("The channel has a new host."))
                return redirect("interests:channel", public_id=public_id)
        except ServiceError as error:
            add_service_error(form if form.is_bound else transfer, error)
    status = 400 if (form.errors or transfer.errors) else 200
    context = {
        "channel": found,
        "form": form,
        "transfer": transfer,
        "log": channel_log(channel=found, viewer=viewer),
        "reports": channel_reports(channel=found, viewer=viewer),
    }
    return render(request, "interests/channel_settings.html", context, status=status)
