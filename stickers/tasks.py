"""Hearing a sticker's voice: never in a request. The transcript becomes the caption."""

import logging

from django.core.files.storage import default_storage
from django.tasks import task

from media.errors import MediaError

from .models import Sticker
from .services import sticker_apply_transcript

log = logging.getLogger(__name__)


@task()
def transcribe_sticker(*, sticker_id: str) -> None:
    sticker = Sticker.objects.filter(public_id=sticker_id).first()
    if sticker is None or not sticker.audio:
        return
    from media.speech import transcribe_recording

    try:
        with default_storage.open(sticker.audio, "rb") as handle:
            transcript = transcribe_recording(handle.read()).text
    except (MediaError, OSError):
        log.warning("sticker %s: transcription failed", sticker_id, exc_info=True)
        sticker_apply_transcript(sticker_id=sticker_id, transcript=None)
        return
    sticker_apply_transcript(sticker_id=sticker_id, transcript=transcript)
