"""Reads on stickers: a person's collection, in their order."""

from accounts.models import User

from .models import Sticker


def collection(*, user: User, limit: int = 500) -> list[Sticker]:
    return list(Sticker.objects.filter(saves__user=user).order_by("saves__position", "-saves__created_at")[:limit])
