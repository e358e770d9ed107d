"""Reads on moderation: for a channel's host, and for the site's operators."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Max
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound, PermissionDenied
from core.pagination import Page, keyset_page
from interests.models import Channel
from posts.models import Post

from .models import ModerationLogEntry, Report, ReportReason, ReportTarget


def _require_host(channel: Channel, viewer: User) -> None:
    if channel.host_id != viewer.pk:
        raise PermissionDenied("not_host", _("Only the channel's host can see this."))


def channel_log(*, channel: Channel, viewer: User, limit: int = 100) -> list[ModerationLogEntry]:
    _require_host(channel, viewer)
    return list(
        ModerationLogEntry.objects.filter(channel=channel)
        .select_related("actor", "subject")
        .order_by("-created_at")[:limit]
    )


def channel_log_page(
    *, channel: Channel, viewer: User, cursor: str | None = None, size: int = 50
) -> Page[ModerationLogEntry]:
    """The channel's moderation log for its host, newest first, a page at a time."""
    _require_host(channel, viewer)
    entries = ModerationLogEntry.objects.filter(channel=channel).select_related("actor", "subject")
    return keyset_page(entries, order=("created_at", "pk"), cursor=cursor, size=size)


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


@dataclass(frozen=True)
class QueueItem:
    """Reports of one target, for operators: how many, how recent, which reasons."""

    target_kind: str
    target_id: str
    count: int
    latest: datetime
    reasons: list[str]


def report_queue(*, limit: int = 100) -> list[QueueItem]:
    """Open reports grouped by target: most-reported first, then the newest."""
    rows = list(
        Report.objects.filter(resolved_at__isnull=True)
        .values("target_kind", "target_id")
        .annotate(count=Count("pk"), latest=Max("created_at"))
        .order_by("-count", "-latest")[:limit]
    )
    reasons: dict[tuple[str, str], list[str]] = {}
    keys = {(r["target_kind"], r["target_id"]) for r in rows}
    for kind, target_id, reason in Report.objects.filter(
        resolved_at__isnull=True, target_id__in={k[1] for k in keys}
    ).values_list("target_kind", "target_id", "reason"):
        if (kind, target_id) in keys:
            reasons.setdefault((kind, target_id), []).append(reason)
    return [
        QueueItem(
            r["target_kind"],
            r["target_id"],
            r["count"],
            r["latest"],
            sorted({str(ReportReason(reason).label) for reason in reasons.get((r["target_kind"], r["target_id"]), [])}),
        )
        for r in rows
    ]


def reports_of(*, target_kind: str, target_id: str) -> list[Report]:
    return list(
        Report.objects.filter(target_kind=target_kind, target_id=target_id)
        .select_related("reporter")
        .order_by("-created_at")[:200]
    )


def reported_target(*, kind: str, target_id: str) -> dict[str, Any]:
    """What an operator looks at for a report: the post, channel or person (a message only on request)."""
    if kind == ReportTarget.POST:
        post = Post.objects.select_related("channel", "author").filter(public_id=target_id).first()
        if post is None:
            raise NotFound(_("That post is gone."))
        return {"post": post, "person": post.author, "channel": post.channel}
    if kind == ReportTarget.CHANNEL:
        channel = Channel.objects.select_related("host").filter(public_id=target_id).first()
        if channel is None:
            raise NotFound(_("That channel is gone."))
        return {"channel": channel, "person": None}
    if kind == ReportTarget.USER:
        person = User.objects.filter(username=target_id).first()
        if person is None:
            raise NotFound(_("That person is gone."))
        return {"person": person}
    if kind == ReportTarget.MESSAGE:
        return {"message_id": target_id}
    raise NotFound(_("Nothing like that can be reported."))


def recent_log(*, limit: int = 30) -> list[ModerationLogEntry]:
    """The site's moderation log, newest first."""
    return list(
        ModerationLogEntry.objects.select_related("actor", "subject", "channel").order_by("-created_at")[:limit]
    )
