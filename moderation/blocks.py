"""Blocks: who has blocked whom. The writes live in chat.blocks, where blocking closes conversations."""

from django.db.models import Q

from accounts.models import User
from core.pagination import Page, keyset_page

from .models import Block


def is_blocked_between(a: User, b: User) -> bool:
    """True if either has blocked the other: then neither can reach the other privately."""
    return Block.objects.filter(blocker=a, blocked=b).exists() or Block.objects.filter(blocker=b, blocked=a).exists()


def is_blocked_with_any(user: User, others: list[int]) -> bool:
    """True if `user` and any of these people (by user id) blocked one another: one query for them all."""
    return Block.objects.filter(
        Q(blocker=user, blocked_id__in=others) | Q(blocker_id__in=others, blocked=user)
    ).exists()


def blocked_page(*, user: User, cursor: str | None = None, size: int = 50) -> Page[str]:
    """The people this person blocked, most recent first, a page at a time (usernames only)."""
    page = keyset_page(
        Block.objects.filter(blocker=user).select_related("blocked"),
        order=("created_at", "pk"),
        cursor=cursor,
        size=size,
    )
    return Page(items=[block.blocked.username for block in page.items], next=page.next)


def blocked_usernames(*, user: User) -> list[str]:
    return list(Block.objects.filter(blocker=user).order_by("-created_at").values_list("blocked__username", flat=True))
