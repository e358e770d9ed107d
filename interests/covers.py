from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile

from accounts.models import new_public_id
from core.errors import ServiceError
from media.errors import MediaError
from media.images import process_image

from .models import Channel

COVER_MAX_SIDE = 1600


def store_cover(*, channel: Channel, upload: UploadedFile[bytes]) -> None:
    """Re-encode the cover (metadata stripped) and attach it to the unsaved channel."""
    try:
        processed = process_image(upload, max_side=COVER_MAX_SIDE)
    except MediaError as error:
        raise ServiceError(error.code, error.message, field="cover") from None
    channel.cover.save(f"{new_public_id()}.{processed.extension}", ContentFile(processed.content), save=False)
