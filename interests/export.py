"""The channels a person joined and hosts, in their data export."""

from typing import Any

from accounts.models import User
from accounts.selectors import register_export_section

from .models import Membership


@register_export_section("channels")
def channels_section(user: User) -> list[dict[str, Any]]:
    return [
        {
            "id": m.channel.public_id,
            "name": m.channel.name,
            "joined_at": m.joined_at.isoformat(),
            "host": m.channel.host_id == user.pk,
        }
        for m in Membership.objects.filter(user=user).select_related("channel").order_by("joined_at")
    ]
