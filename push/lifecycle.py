"""A person's export lists the devices that get their notifications (a subscription goes with the account)."""

from typing import Any
from urllib.parse import urlsplit

from accounts.models import User
from accounts.selectors import register_export_section

from .models import PushSubscription


@register_export_section("push_subscriptions")
def push_subscriptions_section(user: User) -> list[dict[str, Any]]:
    return [
        {
            "push_service": urlsplit(endpoint).hostname,
            "created_at": created.isoformat(),
            "last_success_at": success.isoformat() if success else None,
        }
        for endpoint, created, success in PushSubscription.objects.filter(user=user)
        .order_by("created_at")
        .values_list("endpoint", "created_at", "last_success_at")
    ]
