"""Bare endpoints for bench/scale.py: the same 20 rows as a list page, straight to JSON (no template, no
cards' extra rows), on the same server. The floor an HTML list page is compared with.

Each is behind `login_required` and bench/scale.py sends it the page's session cookie, so it pays what the
page pays before its view runs: the same middleware, the session read and the signed-in user's row (two
queries). Then it reads its rows as the page does (the channel's id, then its 20 newest live posts; Home's
merge of the joined channels; the 20 most active open channels) and answers `JsonResponse`."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, JsonResponse
from django.urls import path

from core.pagination import keyset_merge
from interests.models import Channel, Membership
from posts.models import Post
from posts.selectors import ORDER

FIELDS = ("public_id", "kind", "text", "same_count", "created_at", "author__username", "channel__name")


def _posts(rows: object) -> JsonResponse:
    return JsonResponse({"items": list(rows)})  # type: ignore[call-overload]


@login_required
def channel(request: HttpRequest, public_id: str) -> JsonResponse:
    # The channel's id first, as the page does: filtering on channel__public_id in the posts query leaves
    # PostgreSQL guessing the channel's size, and it sorted all 150k posts of the biggest one (5 s).
    channel_id = Channel.objects.filter(public_id=public_id).values_list("pk", flat=True).get()
    live = Post.objects.filter(channel_id=channel_id, removed_at__isnull=True, pinned_at__isnull=True)
    return _posts(live.order_by("-created_at", "-public_id").values(*FIELDS)[:20])


@login_required
def home(request: HttpRequest, username: str) -> JsonResponse:
    # The same rows as Home, found the same way (the newest of each joined channel, merged), as JSON.
    joined = Membership.objects.filter(user__username=username, channel__is_closed=False)
    live = Post.objects.filter(removed_at__isnull=True)
    parts = [live.filter(channel_id=channel_id) for channel_id in joined.values_list("channel_id", flat=True)]
    page = keyset_merge(parts, live.select_related("author", "channel"), order=ORDER, cursor=None, size=20)
    return JsonResponse(
        {
            "items": [
                {
                    "public_id": p.public_id,
                    "kind": p.kind,
                    "text": p.text,
                    "same_count": p.same_count,
                    "created_at": p.created_at,
                    "author": p.author.username,
                    "channel": p.channel.name,
                }
                for p in page.items
            ]
        }
    )


@login_required
def explore(request: HttpRequest) -> JsonResponse:
    rows = Channel.objects.filter(is_closed=False).order_by("-last_post_at", "-public_id")
    return _posts(rows.values("public_id", "name", "kind", "category", "member_count", "post_count")[:20])


urlpatterns = [
    path("bench/bare/channel/<str:public_id>", channel),
    path("bench/bare/home/<str:username>", home),
    path("bench/bare/explore", explore),
]
