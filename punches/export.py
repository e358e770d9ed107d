"""A person's punches, in their data export."""

from typing import Any

from accounts.models import User
from accounts.selectors import register_export_section

from .models import Punch


@register_export_section("punches")
def punches_section(user: User) -> list[dict[str, Any]]:
    return [
        {
            "channel": p.channel.name,
            "local_date": p.local_date.isoformat(),
            "local_time": p.local_clock,
            "time_zone": p.time_zone,
            "streak": p.streak,
            "note": p.post.text,
        }
        for p in Punch.objects.filter(user=user).select_related("channel", "post").order_by("punched_at")
    ]
