"""Sticker pages: my stickers, making one (crop, voice, caption), and the tray a chat opens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import NotFound, ServiceError
from core.files import file_viewer, private_file_response
from core.http import signed_in_user

from . import selectors, services
from .rendering import Crop


@require_GET
@login_required
def mine(request: HttpRequest) -> HttpResponse:
    cursor = request.GET.get("cursor") or None
    try:
        page = selectors.collection_page(user=signed_in_user(request), cursor=cursor)
    except ServiceError:  # a spoiled page link: start from the first page
        return redirect("stickers:mine")
    return render(
        request, "stickers/mine.html", {"stickers": page.items, "next_cursor": page.next, "first_page": cursor is None}
    )


@require_GET
@login_required
def tray(request: HttpRequest) -> HttpResponse:
    """htmx: the stickers a chat's tray shows."""
    return render(request, "stickers/_tray.html", {"stickers": selectors.collection(user=signed_in_user(request))})


def _crop(request: HttpRequest) -> Crop | None:
    values = [request.POST.get(name, "") for name in ("crop_x", "crop_y", "crop_size")]
    if not any(values):
        return None
    try:
        x, y, size = (int(float(value)) for value in values)
    except (ValueError, OverflowError):  # not a number, or infinite
        return Crop(-1, -1, 0)  # refused by the service, next to the picture
    return Crop(x, y, size)


@require_http_methods(["GET", "POST"])
@login_required
def new(request: HttpRequest) -> HttpResponse:
    """Make a sticker. The page's script sends it through the API and shows the caption arrive; without
    script, this form does the same and the page of the new sticker follows."""
    error = None
    if request.method == "POST":
        try:
            sticker = services.sticker_create(
                owner=signed_in_user(request),
                image=request.FILES.get("image"),
                caption=request.POST.get("caption", ""),
                audio=request.FILES.get("audio"),
                crop=_crop(request),
            )
        except ServiceError as refusal:
            error = refusal
        else:
            return redirect("stickers:detail", sticker_id=sticker.public_id)
    context = {"error": error, "caption": request.POST.get("caption", ""), "caption_max": services.CAPTION_MAX}
    return render(request, "stickers/new.html", context, status=error.status if error else 200)


@require_http_methods(["GET", "POST"])
@login_required
def detail(request: HttpRequest, sticker_id: str) -> HttpResponse:
    me = signed_in_user(request)
    sticker = services.sticker_get(viewer=me, public_id=sticker_id)
    error = None
    if request.method == "POST":
        try:
            sticker = services.sticker_caption_update(user=me, sticker=sticker, caption=request.POST.get("caption", ""))
        except ServiceError as refusal:
            error = refusal
        else:
            messages.success(request, _("Caption saved."))
            return redirect("stickers:detail", sticker_id=sticker_id)
    return render(
        request, "stickers/detail.html", {"sticker": sticker, "error": error}, status=error.status if error else 200
    )


@require_POST
@login_required
def arrange(request: HttpRequest, sticker_id: str) -> HttpResponse:
    """Move a sticker one place earlier or later, or out of the collection."""
    me = signed_in_user(request)
    sticker = services.sticker_get(viewer=me, public_id=sticker_id)
    action = request.POST.get("action")
    if action == "delete":
        services.sticker_remove(user=me, sticker=sticker)
        messages.success(request, _("Sticker deleted."))
        return redirect("stickers:mine")
    order = [s.public_id for s in selectors.collection(user=me)]
    index = order.index(sticker.public_id)
    target = index - 1 if action == "earlier" else index + 1
    if 0 <= target < len(order):
        order[index], order[target] = order[target], order[index]
        services.sticker_reorder(user=me, order=order)
    return redirect("stickers:mine")


@require_GET
def voice(request: HttpRequest, sticker_id: str) -> HttpResponse:
    """A sticker's recorded voice, for those who have the sticker or were sent it; anyone else gets 404."""
    viewer = file_viewer(request)
    if viewer is None:
        raise NotFound(_("No such sticker."))
    sticker = selectors.sticker_for_listener(viewer=viewer, public_id=sticker_id)
    return private_file_response(request, sticker.audio)
