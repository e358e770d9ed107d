"""Chats in the admin: who talks where and how much — never what they say. A reported message is read
through the report queue, one message at a time, and each reading is logged."""

from django.contrib import admin
from django.http import HttpRequest

from .models import Conversation, Invite, Message, Participant


class ParticipantInline(admin.TabularInline[Participant, Conversation]):
    model = Participant
    extra = 0
    fields = ("user", "role", "muted", "joined_at", "last_read_seq")
    readonly_fields = fields
    can_delete = False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    list_display = ("public_id", "kind", "state", "title", "channel", "next_seq", "last_message_at")
    list_filter = ("kind", "state")
    search_fields = ("public_id", "title", "participants__user__username")
    readonly_fields = ("public_id", "kind", "origin_post", "started_by", "created_at", "last_message_at", "next_seq")
    raw_id_fields = ("channel",)
    inlines = [ParticipantInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    """Metadata only: the words, voice and pictures of private messages stay out of the admin."""

    list_display = ("public_id", "conversation", "seq", "sender", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("public_id", "sender__username", "conversation__public_id")
    fields = ("public_id", "conversation", "seq", "sender", "kind", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False


@admin.register(Invite)
class InviteAdmin(admin.ModelAdmin[Invite]):
    list_display = ("conversation", "created_by", "created_at", "expires_at", "revoked_at")
    raw_id_fields = ("conversation", "created_by")
    readonly_fields = ("code",)
