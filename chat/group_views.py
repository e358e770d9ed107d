"""Group chat pages: start a group, its members and invite links, joining by link or from a channel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ServiceError
from core.http import signed_in_user
from interests.selectors import channel_get

from . import groups, selectors, services
from .models import INVITE_DAYS, Invite, Role


@require_http_methods(["GET", "POST"])
@login_required
def new_group(request: HttpRequest) -> HttpResponse:
    me = signed_in_user(request)
    error = None
    if request.method == "POST":
        try:
            made = groups.group_create(owner=me, title=request.POST.get("title", ""), cover=request.FILES.get("cover"))
        except ServiceError as refusal:
            error = refusal
        else:
            return redirect("chat:members", conversation_id=made.public_id)
    context = {"error": error, "title": request.POST.get("title", "")}
    return render(request, "chat/new_group.html", context, status=error.status if error else 200)


@require_GET
@login_required
def members(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Who is in the group, its invite links, and what you may do: leave, mute, and (managers) manage."""
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    everyone = selectors.members(conversation=found)
    mine = next(p for p in everyone if p.user_id == me.pk)
    managing = mine.role in groups.MANAGERS
    context = {
        "conversation": found,
        "everyone": everyone,
        "mine": mine,
        "managing": managing,
        "is_owner": mine.role == Role.OWNER,
        "invites": groups.open_invites(conversation=found) if managing else [],
        "invite_days": INVITE_DAYS,
        "site_url": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "chat/members.html", context)


@require_POST
@login_required
def manage(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """One form endpoint for the members page's buttons; each refusal comes back as a message on the page."""
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    action = request.POST.get("action", "")
    username = request.POST.get("username", "")
    try:
        if action == "invite":
            days = int(request.POST.get("days", "7")) if request.POST.get("days", "7").isdigit() else 0
            groups.invite_create(user=me, conversation=found, days=days)
        elif action == "revoke":
            groups.invite_revoke(user=me, conversation=found, code=request.POST.get("code", ""))
        elif action == "remove":
            groups.member_remove(by=me, conversation=found, username=username)
        elif action in ("make_admin", "make_member"):
            role = Role.ADMIN if action == "make_admin" else Role.MEMBER
            groups.member_set_role(by=me, conversation=found, username=username, role=role)
        elif action in ("mute", "unmute"):
            groups.conversation_mute(user=me, conversation=found, muted=action == "mute")
        elif action == "rename":
            groups.group_rename(user=me, conversation=found, title=request.POST.get("title", ""))
        elif action == "leave":
            groups.group_leave(user=me, conversation=found)
            messages.success(request, _("You left the group."))
            return redirect("chat:chats")
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("chat:members", conversation_id=conversation_id)


@require_http_methods(["GET", "POST"])
@login_required
def join(request: HttpRequest, code: str) -> HttpResponse:
    """An invite link: see the group, then join it."""
    me = signed_in_user(request)
    invite: Invite | None = None
    error = None
    try:
        invite = groups.invite_get(code=code, viewer=me)
        if request.method == "POST":
            joined = groups.group_join_by_invite(user=me, code=code)
            return redirect("chat:conversation", conversation_id=joined.public_id)
    except ServiceError as refusal:
        error = refusal
    context = {
        "invite": invite,
        "error": error,
        "names": groups.invite_preview_names(invite=invite, viewer=me) if invite else [],
        "member_count": invite.conversation.participants.count() if invite else 0,
        "already_in": bool(invite and selectors.is_member(conversation=invite.conversation, user=me)),
    }
    return render(request, "chat/join.html", context, status=error.status if error else 200)


@require_POST
@login_required
def channel_group(request: HttpRequest, channel_id: str) -> HttpResponse:
    """A channel's group chat: the host opens it, members join it."""
    me = signed_in_user(request)
    channel = channel_get(viewer=me, public_id=channel_id)
    try:
        if channel.host_id == me.pk:
            found = groups.channel_group_open(host=me, channel=channel)
        else:
            found = groups.channel_group_join(user=me, channel=channel)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("interests:channel", public_id=channel_id)
    return redirect("chat:conversation", conversation_id=found.public_id)


@require_GET
@login_required
def channel_group_button(request: HttpRequest, channel_id: str) -> HttpResponse:
    """htmx, loaded after the channel page: the way into its group chat, when there is (or may be) one."""
    me = signed_in_user(request)
    channel = channel_get(viewer=me, public_id=channel_id)
    group = groups.channel_group(channel=channel)
    context = {
        "channel": channel,
        "group": group,
        "is_host": channel.host_id == me.pk,
        "inside": bool(group and selectors.is_member(conversation=group, user=me)),
    }
    return render(request, "chat/_channel_group.html", context)
