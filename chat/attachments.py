"""Messages that carry something: a voice message, a photo, a post forwarded from a channel.

Files are processed first (a voice message becomes AAC in M4A, a photo is re-encoded; both lose every tag),
stored under unguessable names, and removed again if the message isn't written — refused, or a resend of a
`client_id` already used. They are served only to the conversation's members (`attachment_file`).
"""

from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from accounts.models import User, new_public_id
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, ServiceError, ValidationFailed
from media.errors import MediaError
from media.images import process_image
from posts.models import Post
from posts.selectors import post_get
from stickers.models import Sticker
from stickers.services import register_in_use_check, sticker_get, sticker_save

from .models import Conversation, Message, MessageKind, TranscriptStatus
from .services import Sent, _clean_client_id, check_message_rate, message_send, message_send_with
from .transcripts import transcript_queue, transcript_status_for

VOICE_MAX_SECONDS = 60.0
VOICE_MAX_BYTES = 10 * 1024 * 1024
PHOTO_MAX_SIDE = 2048
CAPTION_MAX = 500


def _caption(text: str) -> str:
    clean = text.strip()
    if len(clean) > CAPTION_MAX:
        raise ValidationFailed({"text": [_("A caption has at most 500 characters.")]})
    return clean


def _resent(sender: User, client_id: str) -> Sent | None:
    """A resend is answered before any file is processed."""
    existing = Message.objects.filter(sender=sender, client_id=client_id).first()
    return Sent(message=existing, created=False) if existing is not None else None


def _remover(*names: str) -> Callable[[], None]:
    def remove() -> None:
        for name in names:
            if name:
                default_storage.delete(name)

    return remove


def message_send_voice(*, sender: User, conversation: Conversation, audio: UploadedFile[bytes], client_id: str) -> Sent:
    clean_client_id = _clean_client_id(client_id)
    if (resent := _resent(sender, clean_client_id)) is not None:
        return resent
    check_message_rate(sender)  # before the file is processed; the send judges again as it stores
    # PyAV (FFmpeg's libraries, ~27 MB of memory) comes in with the first upload that needs it,
    # not with the web process (tests/test_web_process.py).
    from media.audio import process_voice

    try:
        processed = process_voice(audio, max_bytes=VOICE_MAX_BYTES, max_seconds=VOICE_MAX_SECONDS)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field="audio") from None
    name = default_storage.save(
        f"chat/{new_public_id()}{new_public_id()}.{processed.extension}", ContentFile(processed.content)
    )
    status = transcript_status_for(sender)
    sent = message_send_with(
        sender=sender,
        conversation=conversation,
        client_id=clean_client_id,
        fields={
            "kind": MessageKind.VOICE,
            "audio": name,
            "audio_seconds": processed.duration_s,
            "transcript_status": status,
        },
        on_failure=_remover(name),
    )
    if sent.created and status == TranscriptStatus.PENDING:
        transcript_queue(sent.message)
    return sent


def message_send_photo(
    *, sender: User, conversation: Conversation, image: UploadedFile[bytes], client_id: str, text: str = ""
) -> Sent:
    clean_client_id = _clean_client_id(client_id)
    caption = _caption(text)
    if (resent := _resent(sender, clean_client_id)) is not None:
        return resent
    check_message_rate(sender)  # before the file is processed; the send judges again as it stores
    try:
        processed = process_image(image, max_side=PHOTO_MAX_SIDE)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field="image") from None
    stem = f"chat/{new_public_id()}{new_public_id()}"
    image_name = default_storage.save(f"{stem}.{processed.extension}", ContentFile(processed.content))
    thumb_name = default_storage.save(f"{stem}-thumb.{processed.thumb_extension}", ContentFile(processed.thumb))
    return message_send_with(
        sender=sender,
        conversation=conversation,
        client_id=clean_client_id,
        fields={
            "kind": MessageKind.PHOTO,
            "text": caption,
            "image": image_name,
            "thumb": thumb_name,
            "width": processed.width,
            "height": processed.height,
        },
        on_failure=_remover(image_name, thumb_name),
    )


def message_forward(*, sender: User, conversation: Conversation, post_id: str, client_id: str, text: str = "") -> Sent:
    """Share a post the sender can see; what others see of it follows the post (removed → gone)."""
    clean_client_id = _clean_client_id(client_id)
    comment = _caption(text)
    ensure_not_suspended(sender)  # the limits on messages: judged as it is stored (a resend answered first)
    try:
        post: Post = post_get(viewer=sender, public_id=post_id)
    except NotFound:
        raise ServiceError("not_found", _("No such post."), field="post_id", status=404) from None
    return message_send_with(
        sender=sender,
        conversation=conversation,
        client_id=clean_client_id,
        fields={"kind": MessageKind.POST, "text": comment, "forwarded_post": post},
        on_failure=lambda: None,
    )


def message_send_sticker(*, sender: User, conversation: Conversation, sticker_id: str, client_id: str) -> Sent:
    """Send a sticker from your collection."""
    clean_client_id = _clean_client_id(client_id)
    ensure_not_suspended(sender)  # the limits on messages: judged as it is stored (a resend answered first)
    try:
        sticker = sticker_get(viewer=sender, public_id=sticker_id)
    except NotFound:
        raise ServiceError("not_found", _("No such sticker."), field="sticker_id", status=404) from None
    return message_send_with(
        sender=sender,
        conversation=conversation,
        client_id=clean_client_id,
        fields={"kind": MessageKind.STICKER, "sticker": sticker},
        on_failure=lambda: None,
    )


def message_send_without_file(
    *, sender: User, conversation: Conversation, client_id: str, text: str = "", sticker_id: str = "", post_id: str = ""
) -> Sent:
    """A message that carries no file: a sticker (`sticker_id`), a post forwarded (`post_id`, with `text` as a
    comment), or else `text`. What the API's send and the WebSocket's `send` frame both take."""
    if sticker_id:
        return message_send_sticker(
            sender=sender, conversation=conversation, sticker_id=sticker_id, client_id=client_id
        )
    if post_id:
        return message_forward(
            sender=sender, conversation=conversation, post_id=post_id, client_id=client_id, text=text
        )
    return message_send(sender=sender, conversation=conversation, text=text, client_id=client_id)


@register_in_use_check
def _sticker_shown_in_a_chat(sticker: Sticker) -> bool:
    return Message.objects.filter(sticker=sticker).exists()


def sticker_save_from_chat(*, user: User, sticker_id: str) -> Sticker:
    """Keep a sticker: one you hold already, or one sent in a conversation you are in."""
    sticker = Sticker.objects.filter(public_id=sticker_id).first()
    if sticker is None or not (
        sticker.saves.filter(user=user).exists()
        or Message.objects.filter(sticker=sticker, conversation__participants__user=user).exists()
    ):
        raise NotFound(_("No such sticker."))
    sticker_save(user=user, sticker=sticker)
    return sticker


ATTACHMENT_PARTS = ("audio", "image", "thumb")


def attachment_file(*, message: Message, part: str) -> str:
    """The storage name of a message's file. Precondition: the asker is a member of its conversation."""
    name = getattr(message, part, "") if part in ATTACHMENT_PARTS else ""
    if not name:
        raise NotFound(_("No such file."))
    return str(name)


def delete_attachments(messages: list[Message]) -> None:
    for message in messages:
        _remover(message.audio, message.image, message.thumb)()
