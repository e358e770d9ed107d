"""A deleted account takes its stickers (picture and voice) along; export lists them."""

from collections.abc import Sequence
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import ngettext

from accounts.deletion import register_deletion_note, register_deletion_step
from accounts.models import User
from accounts.selectors import register_export_section

from .models import Sticker


@register_deletion_step
def delete_stickers(user: User) -> None:
    made = list(Sticker.objects.filter(owner=user))
    names = [name for sticker in made for name in (sticker.image, sticker.base, sticker.audio) if name]
    Sticker.objects.filter(owner=user).delete()

    def remove() -> None:
        for name in names:
            default_storage.delete(name)

    transaction.on_commit(remove)


@register_export_section("stickers")
def stickers_section(user: User) -> list[dict[str, Any]]:
    return [
        {"id": public_id, "caption": caption, "transcript": transcript, "at": at.isoformat()}
        for public_id, caption, transcript, at in Sticker.objects.filter(owner=user)
        .order_by("created_at")
        .values_list("public_id", "caption", "transcript", "created_at")
    ]


@register_deletion_note
def stickers_note(people: Sequence[User]) -> list[str]:
    count = Sticker.objects.filter(owner__in=people).count()
    if not count:
        return []
    return [
        ngettext(
            "Their %(count)d sticker goes with its picture and voice, also from the messages it was sent in.",
            "Their %(count)d stickers go with their pictures and voices, also from the messages they were sent in.",
            count,
        )
        % {"count": count}
    ]
