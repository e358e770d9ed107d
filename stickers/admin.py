from django.contrib import admin

from .models import Sticker, StickerSave


@admin.register(Sticker)
class StickerAdmin(admin.ModelAdmin[Sticker]):
    list_display = ("public_id", "owner", "caption", "status", "audio_seconds", "created_at")
    list_filter = ("status",)
    search_fields = ("public_id", "caption", "transcript", "owner__username")
    raw_id_fields = ("owner",)
    readonly_fields = ("public_id", "image", "base", "audio", "audio_seconds", "transcript", "created_at")


@admin.register(StickerSave)
class StickerSaveAdmin(admin.ModelAdmin[StickerSave]):
    list_display = ("user", "sticker", "position", "created_at")
    raw_id_fields = ("user", "sticker")
