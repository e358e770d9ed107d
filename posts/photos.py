"""Image posts: 1–9 photos and a caption. Every photo is re-encoded without its metadata."""

from collections.abc import Sequence

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ServiceError
from interests.models import Channel, ChannelKind

from .models import Post, PostImage
from .services import _clean_post_text, check_can_post, post_record
from .stored_images import stored_images

MAX_PHOTOS = 9


def post_create_photos(
    *, author: User, channel: Channel, images: Sequence[UploadedFile[bytes]], text: str = ""
) -> Post:
    check_can_post(author=author, channel=channel, kind=ChannelKind.IMAGE)
    if not images:
        raise ServiceError("required", _("Add at least one photo."), field="images")
    if len(images) > MAX_PHOTOS:
        raise ServiceError("too_many", _("At most 9 photos in one post."), field="images")
    caption = _clean_post_text(text, required=False)
    with stored_images(images, field="images") as stored, transaction.atomic():
        post = post_record(
            post=Post(channel=channel, author=author, kind=ChannelKind.IMAGE, text=caption, created_at=timezone.now())
        )
        PostImage.objects.bulk_create(
            PostImage(
                post=post,
                position=position,
                image=item.image_name,
                thumb=item.thumb_name,
                width=item.width,
                height=item.height,
                thumb_width=item.thumb_width,
                thumb_height=item.thumb_height,
            )
            for position, item in enumerate(stored)
        )
    return post
