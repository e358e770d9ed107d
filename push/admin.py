from urllib.parse import urlsplit

from django.contrib import admin
from django.http import HttpRequest

from .models import PushSubscription


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin[PushSubscription]):
    """Which devices get notifications: the person by username, the push service by host, never the keys."""

    list_display = ["public_id", "user", "push_service", "created_at", "last_success_at"]
    fields = ["public_id", "user", "push_service", "created_at", "last_success_at"]
    readonly_fields = ["public_id", "user", "push_service", "created_at", "last_success_at"]
    search_fields = ["public_id", "user__username"]

    @admin.display(description="push service")
    def push_service(self, subscription: PushSubscription) -> str:
        return urlsplit(subscription.endpoint).hostname or ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
