"""Music posts: a song uploaded (probed, tags stripped, remuxed or transcoded) or named by title and artist."""

import unicodedata
from typing import TYPE_CHECKING

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, new_public_id
from core.errors import ServiceError, ValidationFailed, gather_checks
from interests.models import Channel, ChannelKind
from media.errors import MediaError

from .models import Post, Song
from .services import _clean_post_text, check_can_post, post_record
from .stored_images import stored_image

if TYPE_CHECKING:
    from media.audio import ProcessedAudio

SONG_MAX_SECONDS = 600.0
SONG_MAX_BYTES = 20 * 1024 * 1024
NAME_MAX = 200


def _clean_name(raw: str, *, field: str, missing: str) -> str:
    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not name:
        raise ServiceError("required", missing, field=field)
    if len(name) > NAME_MAX:
        raise ServiceError("too_long", _("At most 200 characters."), field=field)
    return name


def _processed(audio: UploadedFile[bytes]) -> "ProcessedAudio":
    # PyAV (FFmpeg's libraries, ~27 MB of memory) comes in with the first upload that needs it,
    # not with the web process (tests/test_web_process.py).
    from media.audio import process_audio

    try:
        return process_audio(audio, max_bytes=SONG_MAX_BYTES, max_seconds=SONG_MAX_SECONDS)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field="audio") from None


def post_create_song(
    *,
    author: User,
    channel: Channel,
    title: str,
    artist: str,
    text: str = "",
    audio: UploadedFile[bytes] | None = None,
    cover: UploadedFile[bytes] | None = None,
) -> Post:
    check_can_post(author=author, channel=channel, kind=ChannelKind.MUSIC)
    values, errors = gather_checks(
        {
            "title": lambda: _clean_name(title, field="title", missing=_("Which song?")),
            "artist": lambda: _clean_name(artist, field="artist", missing=_("Who sings or plays it?")),
            "text": lambda: _clean_post_text(text, required=False),
        }
    )
    if errors:
        raise ValidationFailed(errors)
    processed = _processed(audio) if audio is not None else None
    audio_name = ""
    if processed is not None:
        audio_name = default_storage.save(
            f"songs/{new_public_id()}.{processed.extension}", ContentFile(processed.content)
        )
    try:
        with stored_image(cover, field="cover") as stored_cover, transaction.atomic():
            post = post_record(
                post=Post(
                    channel=channel,
                    author=author,
                    kind=ChannelKind.MUSIC,
                    text=values["text"],
                    created_at=timezone.now(),
                )
            )
            Song.objects.create(
                post=post,
                title=values["title"],
                artist=values["artist"],
                audio=audio_name,
                audio_mime=processed.mime if processed else "",
                duration_s=processed.duration_s if processed else None,
                cover=stored_cover.image_name if stored_cover else "",
            )
    except BaseException:
        if audio_name:
            default_storage.delete(audio_name)
        raise
    return post
