"""Uploaded pictures of posts: processed by `media`, written to storage, removed again if the post isn't saved."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile

from accounts.models import new_public_id
from core.errors import ServiceError
from media.errors import MediaError
from media.images import process_image

POST_IMAGE_MAX_SIDE = 2560


@dataclass(frozen=True)
class StoredImage:
    image_name: str
    thumb_name: str
    width: int
    height: int
    thumb_width: int
    thumb_height: int


def _store(upload: UploadedFile[bytes], *, field: str, thumb_only: bool) -> StoredImage:
    try:
        processed = process_image(upload, max_side=POST_IMAGE_MAX_SIDE)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field=field) from None
    stem = f"posts/{new_public_id()}"
    thumb_name = default_storage.save(f"{stem}-thumb.{processed.thumb_extension}", ContentFile(processed.thumb))
    if thumb_only:
        return StoredImage(
            thumb_name,
            thumb_name,
            processed.thumb_width,
            processed.thumb_height,
            processed.thumb_width,
            processed.thumb_height,
        )
    image_name = default_storage.save(f"{stem}.{processed.extension}", ContentFile(processed.content))
    return StoredImage(
        image_name=image_name,
        thumb_name=thumb_name,
        width=processed.width,
        height=processed.height,
        thumb_width=processed.thumb_width,
        thumb_height=processed.thumb_height,
    )


@contextmanager
def stored_images(
    uploads: Sequence[UploadedFile[bytes]], *, field: str, thumb_only: bool = False
) -> Iterator[list[StoredImage]]:
    """Store every upload (all checked before any row is written); delete them all if the block fails.

    Put the transaction inside the block, so a failed commit removes the files too.
    """
    stored: list[StoredImage] = []
    try:
        for upload in uploads:
            stored.append(_store(upload, field=field, thumb_only=thumb_only))
        yield stored
    except BaseException:
        for item in stored:
            for name in {item.image_name, item.thumb_name}:
                default_storage.delete(name)
        raise


@contextmanager
def stored_image(upload: UploadedFile[bytes] | None, *, field: str) -> Iterator[StoredImage | None]:
    """One small picture (a poster, a cover): only its 640-pixel version is kept."""
    with stored_images([upload] if upload is not None else [], field=field, thumb_only=True) as stored:
        yield stored[0] if stored else None
