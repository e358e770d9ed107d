"""Punch in, see the records, and the host's clock and playlist."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from core.errors import PermissionDenied, ServiceError
from core.forms import add_service_error
from core.http import HtmxHttpRequest, signed_in_user
from interests.models import Channel, ChannelKind
from interests.selectors import channel_get
from posts.models import Post, Song
from posts.selectors import post_get

from . import selectors, services
from .charts import histogram_chart, history_chart
from .forms import ClockForm, PunchForm


def _punch_channel(request: HttpRequest, public_id: str) -> Channel:
    channel = channel_get(viewer=signed_in_user(request), public_id=public_id)
    if channel.kind != ChannelKind.PUNCH:
        raise ServiceError("wrong_kind", _("This channel has no clock to punch."), status=404)
    return channel


def panel_context(*, viewer: User, channel: Channel) -> dict[str, Any]:
    """What a punch channel's page shows above its posts: the button, or today's punch."""
    today = selectors.today_for(viewer)
    clock = getattr(channel, "punch_clock", None)
    return {
        "my_punch": selectors.my_punch(user=viewer, channel=channel, day=today),
        "clock": clock,
        "window": services.window_label(clock),
        "punch_form": PunchForm(),
    }


@require_POST
@login_required
def punch(request: HtmxHttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    channel = _punch_channel(request, public_id)
    form = PunchForm(request.POST, request.FILES)
    refusal: ServiceError | None = None
    if form.is_valid():
        try:
            result = services.punch_in(
                user=viewer, channel=channel, note=form.cleaned_data["note"], photo=form.cleaned_data["photo"] or None
            )
        except ServiceError as error:
            refusal = error
            add_service_error(form, error)
        else:
            context = {
                "channel": channel,
                "result": result,
                "punch": result.punch,
                "song": result.song,
                "just_now": True,
            }
            if request.htmx:
                return render(request, "punches/_punched.html", context, status=201)
            messages.success(request, _("Punched in. Have a good day."))
            return redirect("interests:channel", public_id=public_id)
    context = {
        "channel": channel,
        **panel_context(viewer=viewer, channel=channel),
        "punch_form": form,
        "refusal": refusal.message if refusal else "",
    }
    if request.htmx:
        return render(request, "punches/_panel.html", context, status=refusal.status if refusal else 400)
    for message in form.non_field_errors():
        messages.error(request, str(message))
    return redirect("interests:channel", public_id=public_id)


@require_GET
@login_required
def records(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    channel = _punch_channel(request, public_id)
    today = selectors.today_for(viewer)
    mine = selectors.my_punch(user=viewer, channel=channel, day=today)
    context = {
        "channel": channel,
        "today": today,
        "my_punch": mine,
        "board": selectors.board(channel=channel, day=today),
        "history": history_chart(selectors.last_days(user=viewer, channel=channel, today=today)),
        "histogram": histogram_chart(
            selectors.today_histogram(channel=channel, day=today), mine.local_seconds if mine else None
        ),
        "week": selectors.week(channel=channel, viewer=viewer, today=today) if channel.host_id == viewer.pk else None,
    }
    return render(request, "punches/records.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def clock(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    channel = _punch_channel(request, public_id)
    if channel.host_id != viewer.pk:
        raise PermissionDenied("not_host", _("Only the channel's host can change its clock."))
    current = selectors.clock_of(channel)
    initial = (
        {"window_start": current.window_start, "window_end": current.window_end, "prompt": current.prompt}
        if current
        else {}
    )
    form = ClockForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.clock_update(channel=channel, by=viewer, **form.cleaned_data)
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("punches:clock", public_id=public_id)
    songs = Song.objects.filter(post__removed_at__isnull=True).select_related("post").order_by("-post__created_at")[:30]
    chosen = {entry.song_post_id for entry in selectors.playlist(channel=channel)}
    context = {"channel": channel, "form": form, "songs": songs, "chosen": chosen}
    return render(request, "punches/clock.html", context, status=400 if form.errors else 200)


@require_POST
@login_required
def playlist_toggle(request: HttpRequest, public_id: str, post_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    channel = _punch_channel(request, public_id)
    song_post: Post = post_get(viewer=viewer, public_id=post_id)
    try:
        if request.POST.get("action") == "remove":
            services.playlist_remove(channel=channel, by=viewer, song_post=song_post)
        else:
            services.playlist_add(channel=channel, by=viewer, song_post=song_post)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("punches:clock", public_id=public_id)
