"""Chat pages: the Chats tab, a conversation, knocking on a post's author, forwarding a post, and the
files of messages (served to members only)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.crypto import get_random_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import NotFound, ServiceError
from core.files import file_viewer, private_file_response
from core.forms import add_service_error
from core.http import signed_in_user
from moderation.forms import ReportForm
from moderation.models import ReportTarget
from moderation.services import report_create
from posts.selectors import post_get

from . import selectors, services
from .attachments import attachment_file, message_forward, message_send_photo
from .blocks import block_create, block_remove
from .models import ConversationKind, ConversationState


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
    is_group = found.kind == ConversationKind.GROUP
    context = {
        "conversation": found,
        "is_group": is_group,
        "messages_list": latest,
        "first_seq": latest[0].seq if latest else 0,
        "last_seq": latest[-1].seq if latest else 0,
        "others_read": selectors.others_read_up_to(conversation=found, user=me),
        "other": None if is_group else found.participants.exclude(user=me).select_related("user").first(),
        "member_count": found.participants.count() if is_group else 2,
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
    text, client_id = request.POST.get("text", ""), request.POST.get("client_id", "")
    try:
        if image := request.FILES.get("image"):
            message_send_photo(sender=me, conversation=found, image=image, client_id=client_id, text=text)
        else:
            services.message_send(sender=me, conversation=found, text=text, client_id=client_id)
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
def block_author(request: HttpRequest, post_id: str) -> HttpResponse:
    """Block a post's author from the post's menu: they can no longer knock on your posts or message you."""
    me = signed_in_user(request)
    post = post_get(viewer=me, public_id=post_id)
    try:
        block_create(blocker=me, username=post.author.username)
    except ServiceError as error:
        messages.error(request, error.message)
        return redirect("posts:detail", public_id=post_id)
    messages.success(request, _("Blocked. They can't reach you any more, and won't be told."))
    return redirect("interests:channel", public_id=post.channel.public_id)


@require_POST
@login_required
def unblock(request: HttpRequest, username: str) -> HttpResponse:
    block_remove(blocker=signed_in_user(request), username=username)
    messages.success(request, _("Unblocked."))
    return redirect("accounts:me")


@require_http_methods(["GET", "POST"])
@login_required
def forward(request: HttpRequest, post_id: str) -> HttpResponse:
    """Send a post into one of your conversations."""
    me = signed_in_user(request)
    post = post_get(viewer=me, public_id=post_id)
    error = None
    if request.method == "POST":
        try:
            found = services.conversation_for_participant(
                user=me, conversation_id=request.POST.get("conversation_id", "")
            )
            message_forward(
                sender=me,
                conversation=found,
                post_id=post.public_id,
                client_id=request.POST.get("client_id", ""),
                text=request.POST.get("text", ""),
            )
        except ServiceError as refusal:
            error = refusal
        else:
            return redirect("chat:conversation", conversation_id=found.public_id)
    rows = [r for r in selectors.conversation_rows(user=me) if r.conversation.state != ConversationState.CLOSED]
    context = {"post": post, "rows": rows, "error": error, "client_id": get_random_string(24)}
    return render(request, "chat/forward.html", context, status=error.status if error else 200)


@require_GET
def attachment(request: HttpRequest, conversation_id: str, message_id: str, part: str) -> HttpResponse:
    """A voice message or photo, for the conversation's members only; anyone else gets 404."""
    viewer = file_viewer(request)
    if viewer is None:
        raise NotFound(_("No such file."))
    found = services.conversation_for_participant(user=viewer, conversation_id=conversation_id)
    message = selectors.message_get(conversation=found, message_id=message_id)
    return private_file_response(request, attachment_file(message=message, part=part))


@require_GET
@login_required
def older(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """htmx: the 50 messages before `before`, for scrolling back through history."""
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    try:
        before = int(request.GET.get("before", "0"))
    except ValueError:
        before = 0
    earlier = selectors.messages_before(conversation=found, before=before) if before > 1 else []
    context = {"conversation": found, "messages_list": earlier, "first_seq": earlier[0].seq if earlier else 0}
    return render(request, "chat/_older.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def report(request: HttpRequest, conversation_id: str) -> HttpResponse:
    """Report a message someone sent you. Only the site's moderators see it, and each reading is logged."""
    me = signed_in_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    received = selectors.messages_to_report(conversation=found, user=me)
    form = ReportForm(request.POST or None)
    chosen = request.POST.get("message_id", "")
    if request.method == "POST" and form.is_valid():
        try:
            report_create(
                reporter=me,
                target_kind=ReportTarget.MESSAGE,
                target_id=chosen,
                reason=form.cleaned_data["reason"] or "",
                text=form.cleaned_data["text"],
            )
        except ServiceError as error:
            add_service_error(form, error)
        else:
            messages.success(request, _("Thank you. A moderator will look at it; they won't know it was you."))
            return redirect("chat:conversation", conversation_id=conversation_id)
    context = {"conversation": found, "received": received, "form": form, "chosen": chosen}
    return render(request, "chat/report.html", context, status=400 if form.errors else 200)
