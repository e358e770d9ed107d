"""Reads on stickers: a person's collection, in their order, and who may hear a sticker's voice."""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound
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


def sticker_for_listener(*, viewer: User, public_id: str) -> Sticker:
    """A sticker whose voice this person may hear: one in their collection, or one sent in a conversation they
    are in now (leaving a group takes the voices of its stickers with it). Anyone else gets 404."""
    from chat.models import Message

    sent_to_viewer = Message.objects.filter(sticker=OuterRef("pk"), conversation__participants__user=viewer)
    sticker = (
        Sticker.objects.filter(public_id=public_id)
        .exclude(audio="")
        .filter(Q(saves__user=viewer) | Exists(sent_to_viewer))
        .first()
    )
    if sticker is None:
        raise NotFound(_("No such sticker."))
    return sticker
