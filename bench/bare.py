"""Bare endpoints for bench/scale.py: the same 20 rows as a list page, straight to JSON (no template, no
cards' extra rows, no session), on the same server. The floor an HTML list page is compared with."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from interests.models import Channel
from posts.models import Post

FIELDS = ("public_id", "kind", "text", "same_count", "created_at", "author__username", "channel__name")


def _posts(rows: object) -> JsonResponse:
    return JsonResponse({"items": list(rows)})  # type: ignore[call-overload]


def channel(request: HttpRequest, public_id: str) -> JsonResponse:
    live = Post.objects.filter(channel__public_id=public_id, removed_at__isnull=True, pinned_at__isnull=True)
    return _posts(live.order_by("-created_at", "-public_id").values(*FIELDS)[:20])


def home(request: HttpRequest, username: str) -> JsonResponse:
    live = Post.objects.filter(channel__memberships__user__username=username, removed_at__isnull=True)
    return _posts(live.order_by("-created_at", "-public_id").values(*FIELDS)[:20])


def explore(request: HttpRequest) -> JsonResponse:
    rows = Channel.objects.filter(is_closed=False).order_by("-last_post_at", "-public_id")
    return _posts(rows.values("public_id", "name", "kind", "category", "member_count", "post_count")[:20])


urlpatterns = [
    path("bench/bare/channel/<str:public_id>", channel),
    path("bench/bare/home/<str:username>", home),
    path("bench/bare/explore", explore),
]
