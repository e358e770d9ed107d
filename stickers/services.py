"""Making, captioning, keeping and ordering stickers.

A sticker is drawn and stored in the request (a photo of at most 15 MB is cut and drawn in well under a second);
transcribing its voice is not: it runs as a task, and the caption appears when the task is done (`sticker.ready`
over the WebSocket, or by asking GET /stickers/{id}). Files are stored before the rows and removed again if the
rows aren't written.
"""

import io
from collections.abc import Callable, Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Min
from django.utils.translation import gettext as _
from PIL import Image

from accounts.models import User, new_public_id
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from core.ratelimit import rate_limit_hit
from media.errors import MediaError
from media.images import open_upright

from . import rendering
from .models import Sticker, StickerSave, StickerStatus

CAPTION_MAX = 80
VOICE_MAX_SECONDS = 10.0
VOICE_MAX_BYTES = 5 * 1024 * 1024
COLLECTION_MAX = 500


def clean_caption(caption: str) -> str:
    clean = " ".join(caption.split())
    if len(clean) > CAPTION_MAX:
        raise ValidationFailed({"caption": [_("A caption has at most 80 characters.")]})
    return clean


def _crop_of(image: Image.Image, crop: rendering.Crop | None) -> rendering.Crop:
    if crop is None:
        return rendering.centre_crop(image.width, image.height)
    if not crop.fits(image.width, image.height):
        raise ValidationFailed(
            {
                "crop": [
                    _("The square must lie inside the photo (%(width)s×%(height)s) and be at least 64 pixels.")
                    % {"width": image.width, "height": image.height}
                ]
            }
        )
    return crop


def _picture(upload: UploadedFile[bytes], crop: rendering.Crop | None) -> Image.Image:
    try:
        photo = open_upright(upload)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field="image") from None
    return rendering.cropped(photo, _crop_of(photo, crop))


def _voice(upload: UploadedFile[bytes]) -> tuple[bytes, float]:
    # PyAV (FFmpeg's libraries, ~27 MB of memory) comes in with the first upload that needs it,
    # not with the web process (tests/test_web_process.py).
    from media.audio import process_voice

    try:
        processed = process_voice(upload, max_bytes=VOICE_MAX_BYTES, max_seconds=VOICE_MAX_SECONDS)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field="audio") from None
    return processed.content, processed.duration_s


def _ensure_room(user: User) -> None:
    if StickerSave.objects.filter(user=user).count() >= COLLECTION_MAX:
        raise ServiceError("collection_full", _("You have 500 stickers: delete some to make room."), status=409)


def _front(user: User) -> int:
    """A position before every sticker in this person's collection: new ones come first."""
    first = StickerSave.objects.filter(user=user).aggregate(first=Min("position"))["first"]
    return (first or 0) - 1


def _save(name: str, content: bytes) -> str:
    return default_storage.save(name, ContentFile(content))


def _delete_files(*names: str) -> None:
    for name in names:
        if name:
            default_storage.delete(name)


def sticker_create(
    *,
    owner: User,
    image: UploadedFile[bytes] | None,
    caption: str = "",
    audio: UploadedFile[bytes] | None = None,
    crop: rendering.Crop | None = None,
) -> Sticker:
    """Cut, caption and store a sticker; with a voice clip and no caption, transcription is queued."""
    if image is None:
        raise ValidationFailed({"image": [_("Choose a photo for the sticker.")]})
    text = clean_caption(caption)
    _ensure_room(owner)
    rate_limit_hit(scope="sticker_create_account", key=owner.public_id)
    base = _picture(image, crop)
    voice = _voice(audio) if audio is not None else None
    stem = f"stickers/{new_public_id()}{new_public_id()}"
    listening = voice is not None and not text
    base_name = _save(f"{stem}-base.webp", rendering.webp(base, lossless=True))
    # While its voice is being heard, a sticker shows its clean picture; the captioned one replaces it.
    image_name = base_name if listening else _save(f"{stem}.webp", rendering.webp(rendering.with_caption(base, text)))
    names = [base_name, image_name]
    if voice is not None:
        names.append(_save(f"sticker-voices/{new_public_id()}{new_public_id()}.m4a", voice[0]))
    try:
        with transaction.atomic():
            sticker = Sticker.objects.create(
                owner=owner,
                base=names[0],
                image=names[1],
                audio=names[2] if voice else "",
                audio_seconds=voice[1] if voice else None,
                caption=text,
                status=StickerStatus.PROCESSING if listening else StickerStatus.READY,
            )
            StickerSave.objects.create(user=owner, sticker=sticker, position=_front(owner))
            if listening:
                from .tasks import transcribe_sticker

                transaction.on_commit(lambda: transcribe_sticker.enqueue(sticker_id=sticker.public_id))
    except BaseException:
        _delete_files(*set(names))
        raise
    return sticker


def _redraw(sticker: Sticker, caption: str) -> None:
    """Draw `caption` on the clean picture and store it under a new name (caches keep the old one)."""
    with default_storage.open(sticker.base, "rb") as handle:
        base = Image.open(io.BytesIO(handle.read())).convert("RGBA")
    old = sticker.image if sticker.image != sticker.base else ""
    sticker.image = _save(
        f"stickers/{new_public_id()}{new_public_id()}.webp", rendering.webp(rendering.with_caption(base, caption))
    )
    sticker.caption = caption
    transaction.on_commit(lambda: _delete_files(old))


def sticker_get(*, viewer: User, public_id: str) -> Sticker:
    """A sticker in the viewer's collection (their own, or saved)."""
    sticker = Sticker.objects.filter(public_id=public_id, saves__user=viewer).first()
    if sticker is None:
        raise NotFound(_("No such sticker."))
    return sticker


@transaction.atomic
def sticker_caption_update(*, user: User, sticker: Sticker, caption: str) -> Sticker:
    """The maker changes the caption (after reading the transcript, say); the picture is drawn again."""
    if sticker.owner_id != user.pk:
        raise PermissionDenied("not_owner", _("Only the person who made a sticker can change its caption."))
    text = clean_caption(caption)
    locked = Sticker.objects.select_for_update().get(pk=sticker.pk)
    _redraw(locked, text)
    if locked.status == StickerStatus.PROCESSING:
        locked.status = StickerStatus.READY  # a typed caption wins over the one still being heard
    locked.save(update_fields=["image", "caption", "status"])
    return locked


def sticker_apply_transcript(*, sticker_id: str, transcript: str | None) -> Sticker | None:
    """The task's result: the transcript becomes the caption, unless the maker typed one meanwhile.

    `None` means transcription failed: the sticker stays usable, without a caption from its voice."""
    with transaction.atomic():
        sticker = Sticker.objects.select_for_update().filter(public_id=sticker_id).first()
        if sticker is None or sticker.status != StickerStatus.PROCESSING:
            return sticker
        if transcript is None:
            sticker.status = StickerStatus.FAILED
            sticker.save(update_fields=["status"])
        else:
            sticker.transcript = transcript[:500]
            if not sticker.caption and transcript:
                _redraw(sticker, clean_caption(transcript[:CAPTION_MAX]))
            sticker.status = StickerStatus.READY
            sticker.save(update_fields=["transcript", "image", "caption", "status"])
    from .events import announce_sticker

    announce_sticker(sticker)
    return sticker


def sticker_remove(*, user: User, sticker: Sticker) -> None:
    """Take a sticker out of your collection. The maker's sticker goes for good once nobody holds it and no
    chat shows it (stickers already sent stay in those chats)."""
    with transaction.atomic():
        StickerSave.objects.filter(user=user, sticker=sticker).delete()
        in_use = StickerSave.objects.filter(sticker=sticker).exists() or _sent_anywhere(sticker)
        if sticker.owner_id == user.pk and not in_use:
            files = (sticker.image, sticker.base, sticker.audio)
            sticker.delete()
            transaction.on_commit(lambda: _delete_files(*files))


_in_use_checks: list[Callable[[Sticker], bool]] = []


def register_in_use_check(check: Callable[[Sticker], bool]) -> Callable[[Sticker], bool]:
    """Apps that show stickers (chat) say whether one is still shown, so it isn't deleted from under them."""
    _in_use_checks.append(check)
    return check


def _sent_anywhere(sticker: Sticker) -> bool:
    return any(check(sticker) for check in _in_use_checks)


def sticker_save(*, user: User, sticker: Sticker) -> StickerSave:
    """Keep a sticker someone sent you. Precondition: the caller checked the person may see it."""
    _ensure_room(user)
    saved, _created = StickerSave.objects.get_or_create(user=user, sticker=sticker, defaults={"position": _front(user)})
    return saved


@transaction.atomic
def sticker_reorder(*, user: User, order: Iterable[str]) -> list[str]:
    """Put the collection in this order (sticker ids); stickers not named keep their order after them."""
    saves = {
        s.sticker.public_id: s
        for s in StickerSave.objects.select_for_update().filter(user=user).select_related("sticker")
    }
    wanted = list(dict.fromkeys(order))
    unknown = [sticker_id for sticker_id in wanted if sticker_id not in saves]
    if unknown:
        raise ValidationFailed({"order": [_("These aren't in your collection: %(ids)s") % {"ids": ", ".join(unknown)}]})
    rest = [sid for sid, save in sorted(saves.items(), key=lambda item: item[1].position) if sid not in wanted]
    final = wanted + rest
    for position, sticker_id in enumerate(final):
        saves[sticker_id].position = position
    StickerSave.objects.bulk_update(saves.values(), ["position"])
    return final
