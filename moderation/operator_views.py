"""The operators' report queue: reports grouped by what they are about, and what can be done about it."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import User
from core.errors import NotFound, ServiceError
from core.http import signed_in_user

from . import operators, selectors


def _operator(request: HttpRequest) -> User:
    """The operator asking. To anyone else these pages don't exist (404), so nobody learns where operators work."""
    me = signed_in_user(request)
    if not operators.is_operator(me):
        raise NotFound(_("No such page."))
    return me


@require_GET
@login_required
def queue(request: HttpRequest) -> HttpResponse:
    _operator(request)
    context = {
        "items": selectors.report_queue(),
        "log": selectors.recent_log(),
    }
    return render(request, "moderation/ops_queue.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def target(request: HttpRequest, kind: str, target_id: str) -> HttpResponse:
    me = _operator(request)
    context: dict[str, Any] = {"kind": kind, "target_id": target_id, "days": operators.SUSPENSION_DAYS}
    context.update(selectors.reported_target(kind=kind, target_id=target_id))
    if request.method == "POST":
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "")
        person = request.POST.get("username", "")
        try:
            if action == "read_message":
                thing = operators.reported_message_read(by=me, message_id=target_id)
                context.update({"message_text": thing.summary, "person": thing.author})
            elif action == "dismiss":
                operators.reports_dismiss(by=me, target_kind=kind, target_id=target_id, reason=reason)
                messages.success(request, _("Reports dismissed."))
                return redirect("moderation:ops_queue")
            elif action == "remove_post":
                operators.post_remove_by_operator(by=me, post_id=target_id, reason=reason)
                messages.success(request, _("Post removed."))
                return redirect("moderation:ops_queue")
            elif action == "suspend":
                raw = request.POST.get("days", "")
                days = None if raw == "forever" else (int(raw) if raw.isdigit() else 0)
                operators.account_suspend(by=me, username=person, days=days, reason=reason)
                messages.success(request, _("Account suspended."))
                return redirect("moderation:ops_queue")
            elif action == "unsuspend":
                operators.account_unsuspend(by=me, username=person, reason=reason)
                messages.success(request, _("Suspension lifted."))
            elif action == "ban":
                operators.channel_ban(
                    by=me, channel_id=request.POST.get("channel_id", ""), username=person, reason=reason
                )
                messages.success(request, _("Banned from the channel."))
                return redirect("moderation:ops_queue")
            elif action == "close_channel":
                operators.channel_close(by=me, channel_id=target_id, reason=reason)
                messages.success(request, _("Channel closed."))
                return redirect("moderation:ops_queue")
        except ServiceError as error:
            context["error"] = error
    context["reports"] = selectors.reports_of(target_kind=kind, target_id=target_id)
    status = context["error"].status if context.get("error") else 200
    return render(request, "moderation/ops_target.html", context, status=status)
