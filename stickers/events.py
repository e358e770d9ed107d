"""`sticker.ready` / `sticker.failed` to the maker's sockets, once the voice has been heard."""

import json

from asgiref.sync import async_to_sync

from core.realtime import send_to_people

from .models import Sticker, StickerStatus


def sticker_payload(sticker: Sticker) -> dict[str, object]:
    return {
        "id": sticker.public_id,
        "status": sticker.status,
        "caption": sticker.caption,
        "transcript": sticker.transcript,
        "image_url": sticker.image_url,
        "audio_url": sticker.audio_url,
    }


def announce_sticker(sticker: Sticker) -> None:
    kind = "sticker.failed" if sticker.status == StickerStatus.FAILED else "sticker.ready"
    event = {"type": kind, "sticker": sticker_payload(sticker)}
    async_to_sync(send_to_people)([sticker.owner.public_id], json.dumps(event))
