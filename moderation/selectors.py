"""Reads on moderation, for a channel's host."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max

from accounts.models import User
from core.errors import PermissionDenied
from interests.models import Channel

from .models import ModerationLogEntry, Report


def _require_host(channel: Channel, viewer: User) -> None:
    if channel.host_id != viewer.pk:
        raise PermissionDenied("not_host", "Only the channel's host can see this.")


def channel_log(*, channel: Channel, viewer: User, limit: int = 100) -> list[ModerationLogEntry]:
    _require_host(channel, viewer)
    return list(
        ModerationLogEntry.objects.filter(channel=channel)
        .select_related("actor", "subject")
        .order_by("-created_at")[:limit]
    )


@dataclass(frozen=True)
class ReportGroup:
    target_kind: str
    target_id: str
    count: int
    latest: datetime


def channel_reports(*, channel: Channel, viewer: User) -> list[ReportGroup]:
    """Open reports of posts in the channel, grouped by post, most-reported first. Reporters stay unnamed."""
    _require_host(channel, viewer)
    rows = (
        Report.objects.filter(channel=channel, resolved_at__isnull=True)
        .values("target_kind", "target_id")
        .annotate(count=Count("pk"), latest=Max("created_at"))
        .order_by("-count", "-latest")[:100]
    )
    return [ReportGroup(r["target_kind"], r["target_id"], r["count"], r["latest"]) for r in rows]
