"""Hearing a voice message: in the task worker only (the recogniser is never loaded by the web process)."""

import logging

from django.core.files.storage import default_storage
from django.tasks import task

from media.errors import MediaError

from .models import Message, MessageKind, TranscriptStatus
from .transcripts import message_apply_transcript

log = logging.getLogger(__name__)

# A voice message is at most a minute; the decoder gets a moment of slack for the encoder's padding.
VOICE_TRANSCRIPT_SECONDS = 60.5


@task()
def transcribe_voice_message(*, message_id: str) -> None:
    message = Message.objects.filter(
        public_id=message_id, kind=MessageKind.VOICE, transcript_status=TranscriptStatus.PENDING
    ).first()
    if message is None or not message.audio:
        return
    from media.speech import transcribe_recording

    try:
        with default_storage.open(message.audio, "rb") as handle:
            transcript = transcribe_recording(handle.read(), max_seconds=VOICE_TRANSCRIPT_SECONDS).text
    except (MediaError, OSError):
        log.warning("voice message %s: transcription failed", message_id, exc_info=True)
        message_apply_transcript(message_id=message_id, transcript=None)
        return
    message_apply_transcript(message_id=message_id, transcript=transcript)
