"""A voice message's transcript: heard by the task worker after the message was sent, never in a request.

The message is announced at once with its transcript `pending`; when the worker has heard it, the transcript is
stored on the message and a `message.updated` event carries the whole message again to everyone in the
conversation. The recogniser knows the languages in `SPEECH_LANGUAGES` only (the default: English); a sender
whose language is another gets `unavailable` rather than a transcript of words they never said.
"""

from django.conf import settings
from django.db import transaction

from accounts.models import User

from .events import announce_message_update
from .models import Message, MessageKind, TranscriptStatus

TRANSCRIPT_MAX = 2000


def speaks_a_recognised_language(user: User) -> bool:
    primary = user.language.split("-", 1)[0].lower()
    return primary in {code.split("-", 1)[0].lower() for code in settings.SPEECH_LANGUAGES}


def transcript_status_for(sender: User) -> TranscriptStatus:
    """What a new voice message of `sender` starts with: waiting for the worker, or no transcript at all."""
    return TranscriptStatus.PENDING if speaks_a_recognised_language(sender) else TranscriptStatus.UNAVAILABLE


def transcript_queue(message: Message) -> None:
    """After the message is committed, ask the worker to hear it. Precondition: its status is pending."""
    from .tasks import transcribe_voice_message

    transaction.on_commit(lambda: transcribe_voice_message.enqueue(message_id=message.public_id))


def message_apply_transcript(*, message_id: str, transcript: str | None) -> Message | None:
    """The task's result, stored and announced: the words heard ("" when none were), or `None` when hearing
    failed. A message no longer waiting (its sender deleted their account meanwhile, say) is left alone."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(public_id=message_id, kind=MessageKind.VOICE, transcript_status=TranscriptStatus.PENDING)
            .first()
        )
        if message is None:
            return None
        if transcript is None:
            message.transcript_status = TranscriptStatus.FAILED
        else:
            message.transcript = " ".join(transcript.split())[:TRANSCRIPT_MAX]
            message.transcript_status = TranscriptStatus.READY
        message.save(update_fields=["transcript", "transcript_status"])
        transaction.on_commit(lambda: announce_message_update(message))
    return message
