"""Reads on stickers: a person's collection, in their order, and who may hear a sticker's voice."""

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound

from .models import Sticker


def collection(*, user: User, limit: int = 500) -> list[Sticker]:
    return list(Sticker.objects.filter(saves__user=user).order_by("saves__position", "-saves__created_at")[:limit])


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
