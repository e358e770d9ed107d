from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import new_public_id


class StickerStatus(models.TextChoices):
    PROCESSING = "processing", _("Listening…")  # a voice clip is being transcribed into the caption
    READY = "ready", _("Ready")
    FAILED = "failed", _("Couldn't transcribe")  # the sticker works; it just has no caption from the voice


class Sticker(models.Model):
    """A 512×512 picture from someone's own photo, with a caption set on it and, maybe, their voice.

    `base` is the cropped picture without its caption, kept so a new caption is drawn on a clean picture.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stickers_made")
    image = models.CharField(max_length=200)
    base = models.CharField(max_length=200)
    audio = models.CharField(max_length=200, blank=True)
    audio_seconds = models.FloatField(null=True, blank=True)
    caption = models.CharField(max_length=80, blank=True)
    transcript = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=12, choices=StickerStatus.choices, default=StickerStatus.READY)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"sticker {self.public_id}"

    @property
    def image_url(self) -> str:
        return default_storage.url(self.image)

    @property
    def audio_url(self) -> str | None:
        # Served by a view that checks who asks (stickers.views.voice), never from the public media URL.
        return reverse("stickers:voice", args=[self.public_id]) if self.audio else None


class StickerSave(models.Model):
    """A sticker in someone's collection: their own, or one they saved from a chat (a reference, not a copy)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sticker_saves")
    sticker = models.ForeignKey(Sticker, on_delete=models.CASCADE, related_name="saves")
    position = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "sticker"], name="one_save_per_sticker")]
        indexes = [models.Index(fields=["user", "position"], name="sticker_collection_order")]

    def __str__(self) -> str:
        return f"{self.sticker_id} saved by {self.user_id}"
