from django.contrib import admin

from .models import Channel, ChannelBan, Membership


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin[Channel]):
    list_display = ("name", "kind", "category", "host", "member_count", "post_count", "is_closed", "created_at")
    list_filter = ("kind", "category", "is_closed")
    search_fields = ("name", "description", "public_id", "host__username")
    readonly_fields = ("public_id", "name_key", "member_count", "post_count", "created_at", "last_post_at")
    raw_id_fields = ("host",)
    ordering = ("-created_at",)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "channel", "joined_at")
    search_fields = ("user__username", "channel__name")
    raw_id_fields = ("user", "channel")


@admin.register(ChannelBan)
class ChannelBanAdmin(admin.ModelAdmin[ChannelBan]):
    list_display = ("user", "channel", "reason", "created_at")
    search_fields = ("user__username", "channel__name")
    raw_id_fields = ("user", "channel")
