from django.contrib import admin
from django.http import HttpRequest

from .models import Block, ModerationLogEntry, Report


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin[Report]):
    """The queue itself lives at /ops/reports (grouped by target, with the actions); this is the raw list."""

    list_display = ("target_kind", "target_id", "reason", "reporter", "channel", "created_at", "resolved_at")
    list_filter = ("target_kind", "reason", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("target_id", "reporter__username", "text")
    raw_id_fields = ("reporter", "channel")
    readonly_fields = ("public_id", "created_at")
    date_hierarchy = "created_at"


@admin.register(ModerationLogEntry)
class ModerationLogEntryAdmin(admin.ModelAdmin[ModerationLogEntry]):
    """Append-only: the log is a record, so nobody edits or deletes its rows here."""

    list_display = ("created_at", "actor", "action", "subject", "channel", "summary", "reason")
    list_filter = ("action",)
    search_fields = ("actor__username", "subject__username", "channel__name", "summary", "reason")
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ModerationLogEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ModerationLogEntry | None = None) -> bool:
        return False


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin[Block]):
    list_display = ("blocker", "blocked", "created_at")
    search_fields = ("blocker__username", "blocked__username")
    raw_id_fields = ("blocker", "blocked")
