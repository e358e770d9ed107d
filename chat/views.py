"""Chat pages: the Chats tab, a conversation, and knocking on a post's author."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ServiceError
from core.http import signed_in_user
from posts.selectors import post_get

from . import selectors, services
from .blocks import block_create, block_remove
from .models import ConversationState


@require_GET
@login_required
def chats(request: HttpRequest) -> HttpResponse:
    rows = selectors.conversation_rows(user=signed_in_user(request))
    requests = [r for r in rows if r.is_request_to_me]
    talks = [r for r in rows if not r.is_request_to_me]
    return render(request, "chat/chats.html", {"requests": requests, "talks": talks})


@require_GET
@login_required
def badge(request: HttpRequest) -> HttpResponse:
    """htmx: the unread count on the Chats tab, loaded after the page so no list page pays for it."""
    return render(request, "chat/_badge.html", {"unread": selectors.unread_total(user=signed_in_user(request))})


@require_GET
@login_required
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    latest = selectors.messages_latest(conversation=found)
    if (latest and found.state != ConversationState.REQUEST) or (latest and found.started_by_id == me.pk):
        services.conversation_read(user=me, conversation=found, seq=latest[-1].seq)
    context = {
        "conversation": found,
        "messages_list": latest,
        "last_seq": latest[-1].seq if latest else 0,
        "others_read": selectors.others_read_up_to(conversation=found, user=me),
        "other": found.participants.exclude(user=me).select_related("user").first(),
        "request_to_me": found.state == ConversationState.REQUEST and found.started_by_id != me.pk,
        "client_id": get_random_string(24),
    }
    return render(request, "chat/conversation.html", context)


@require_POST
@login_required
def send(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """The form's way to send, for browsers without JavaScript; the page's script uses the API."""
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    try:
        services.message_send(
            sender=me,
            conversation=found,
            text=request.POST.get("text", ""),
            client_id=request.POST.get("client_id", ""),
        )
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("chat:conversation", conversation_id=conversation_id)


@require_POST
@login_required
def answer(request: HttpRequest, conversation_id: str) -> HttpResponse:
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    try:
        if request.POST.get("action") == "ignore":
            services.conversation_ignore(user=me, conversation=found)
            messages.success(request, _("Ignored. They won't be told."))
            return redirect("chat:chats")
        services.conversation_accept(user=me, conversation=found)
    except ServiceError as error:
        messages.error(request, error.message)
    return redirect("chat:conversation", conversation_id=conversation_id)


@require_http_methods(["GET", "POST"])
@login_required
def talk(request: HttpRequest, post_id: str) -> HttpResponse:
    """Knock on a post's author: the first message, with the post as its context."""
    me = signed_in_user(request)
    post = post_get(viewer=me, public_id=post_id)
    error = None
    if request.method == "POST":
        try:
            found, _sent = services.conversation_knock(
                sender=me, post=post, text=request.POST.get("text", ""), client_id=request.POST.get("client_id", "")
            )
        except ServiceError as refusal:
            error = refusal
        else:
            return redirect("chat:conversation", conversation_id=found.public_id)
    context = {"post": post, "error": error, "text": request.POST.get("text", ""), "client_id": get_random_string(24)}
    return render(request, "chat/talk.html", context, status=error.status if error else 200)


@require_POST
@login_required
def block(request: HttpRequest, conversation_id: str) -> HttpResponse:
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    other = found.participants.exclude(user=me).select_related("user").first()
    if other is not None:
        block_create(blocker=me, username=other.user.username)
        messages.success(request, _("Blocked. They can't reach you any more, and won't be told."))
    return redirect("chat:chats")


@require_POST
@login_required
def unblock(request: HttpRequest, username: str) -> HttpResponse:
    block_remove(blocker=signed_in_user(request), username=username)
    messages.success(request, _("Unblocked."))
    return redirect("accounts:me")
