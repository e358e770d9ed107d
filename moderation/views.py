"""Pages to report, and the host's actions on posts."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ServiceError
from core.forms import add_service_error
from core.http import signed_in_user
from interests.selectors import channel_get
from posts.selectors import post_get

from . import services
from .forms import RemoveForm, ReportForm
from .models import ReportTarget


def _report(request: HttpRequest, *, kind: str, target_id: str, title: str, back: str) -> HttpResponse:
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.report_create(
                reporter=signed_in_user(request),
                target_kind=kind,
                target_id=target_id,
                reason=form.cleaned_data["reason"] or "",
                text=form.cleaned_data["text"],
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Thank you. Someone will look at it; the author won't know it was you."))
            return redirect(back)
    status = 400 if form.errors else 200
    return render(request, "moderation/report.html", {"form": form, "title": title, "back": back}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def report_post(request: HttpRequest, public_id: str) -> HttpResponse:
    post = post_get(viewer=signed_in_user(request), public_id=public_id)
    back = f"/c/{post.channel.public_id}"
    return _report(request, kind=ReportTarget.POST, target_id=post.public_id, title=_("Report a post"), back=back)


@require_http_methods(["GET", "POST"])
@login_required
def report_channel(request: HttpRequest, public_id: str) -> HttpResponse:
    channel = channel_get(viewer=signed_in_user(request), public_id=public_id)
    return _report(
        request,
        kind=ReportTarget.CHANNEL,
        target_id=channel.public_id,
        title=_("Report this channel"),
        back=f"/c/{public_id}",
    )


@require_POST
@login_required
def pin(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    post = post_get(viewer=viewer, public_id=public_id)
    try:
        if request.POST.get("action") == "unpin":
            services.post_unpin(post=post, by=viewer)
        else:
            services.post_pin(post=post, by=viewer)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect(f"/c/{post.channel.public_id}")


@require_http_methods(["GET", "POST"])
@login_required
def remove(request: HttpRequest, public_id: str) -> HttpResponse:
    viewer = signed_in_user(request)
    post = post_get(viewer=viewer, public_id=public_id)
    if post.channel.host_id != viewer.pk:
        raise ServiceError("not_host", _("Only the channel's host can do that."), status=403)
    form = RemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.post_remove(post=post, by=viewer, reason=form.cleaned_data["reason"])
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("The post is removed. It's in the moderation log."))
            return redirect(f"/c/{post.channel.public_id}")
    status = 400 if form.errors else 200
    return render(request, "moderation/remove.html", {"form": form, "post": post}, status=status)
