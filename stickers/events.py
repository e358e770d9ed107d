"""`sticker.ready` / `sticker.failed` to the maker's sockets, once the voice has been heard."""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from core.realtime import user_group

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
    layer = get_channel_layer()
    if layer is None:
        return
    kind = "sticker.failed" if sticker.status == StickerStatus.FAILED else "sticker.ready"
    async_to_sync(layer.group_send)(
        user_group(sticker.owner.public_id),
        {"type": "event.forward", "event": {"type": kind, "sticker": sticker_payload(sticker)}},
    )
