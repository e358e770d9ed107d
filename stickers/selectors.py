"""Reads on stickers: a person's collection, in their order."""

from accounts.models import User
from core.pagination import Page, keyset_page

from .models import Sticker, StickerSave

PAGE_SIZE = 60


def collection(*, user: User, limit: int = 500) -> list[Sticker]:
    """The first `limit` stickers of the collection (the chat tray, reordering)."""
    return list(Sticker.objects.filter(saves__user=user).order_by("saves__position", "-saves__created_at")[:limit])


def collection_page(*, user: User, cursor: str | None = None, size: int | None = None) -> Page[Sticker]:
    """One page of the collection, in the person's order (position, then when saved); the cursor
    is the place of the last sticker shown. A collection can grow without bound."""
    saves = StickerSave.objects.filter(user=user).select_related("sticker")
    page = keyset_page(saves, order=("position", "pk"), cursor=cursor, size=size or PAGE_SIZE, ascending=True)
    return Page(items=[save.sticker for save in page.items], next=page.next)
