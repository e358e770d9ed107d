"""The operators' dashboard: sign-ups, active people, posts, messages and punches per day, for the
last 30 days, as inline SVG bar charts and a table. Counts only: no person is named on it.

Days are calendar days in the operator's own time zone (their settings), the same for every chart.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from django.contrib import admin
from django.db import connection
from django.db.models import Count, F, QuerySet
from django.db.models.functions import TruncDate
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from chat.models import Message, MessageKind
from core.when import short_date_text
from interests.models import ChannelKind
from posts.models import Post, Same
from punches.models import Punch

DAYS = 30
METRICS = {
    "signups": gettext_lazy("Sign-ups"),
    "active": gettext_lazy("Active people"),
    "posts": gettext_lazy("Posts"),
    "messages": gettext_lazy("Messages"),
    "punches": gettext_lazy("Punches"),
}


@dataclass(frozen=True)
class DayCounts:
    day: date
    signups: int
    active: int
    posts: int
    messages: int
    punches: int


def _as_date(value: date | str) -> date:
    # SQLite hands a truncated date back as text when it comes through a raw cursor.
    return value if isinstance(value, date) else date.fromisoformat(value)


def _per_day(rows: QuerySet[Any], field: str, *, since: datetime, zone: tzinfo) -> dict[date, int]:
    counted = (
        rows.filter(**{f"{field}__gte": since})
        .annotate(day=TruncDate(field, tzinfo=zone))
        .order_by()
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    return {_as_date(day): n for day, n in counted}


def _people_per_day(*, since: datetime, zone: tzinfo) -> dict[date, int]:
    """People who posted, pressed same, sent a message or punched in, each counted once a day.

    The (person, day) pairs of the four tables are united (UNION drops repeats) and counted per day in
    the database: one query, and no list of people ever reaches Python.
    """

    def pairs(rows: QuerySet[Any], person: str, field: str) -> QuerySet[Any]:
        paired: QuerySet[Any] = (
            rows.filter(**{f"{field}__gte": since, f"{person}__isnull": False})
            .order_by()
            .annotate(person=F(person), day=TruncDate(field, tzinfo=zone))
            .values_list("person", "day")
        )
        return paired

    united = pairs(Post.objects.all(), "author_id", "created_at").union(
        pairs(Same.objects.all(), "user_id", "created_at"),
        pairs(Message.objects.exclude(kind=MessageKind.EVENT), "sender_id", "created_at"),
        pairs(Punch.objects.all(), "user_id", "punched_at"),
    )
    sql, params = united.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT day, COUNT(*) FROM ({sql}) AS active_pairs GROUP BY day", params)  # noqa: S608  (Django's own SQL, parameters apart)
        return {_as_date(day): n for day, n in cursor.fetchall()}


def daily_counts(*, days: int = DAYS, today: date | None = None, zone: tzinfo | None = None) -> list[DayCounts]:
    """One row per day, oldest first, ending today; days without activity are rows of zeros."""
    zone = zone or timezone.get_current_timezone()
    today = today or timezone.localdate(timezone=zone)
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, time.min, tzinfo=zone)
    signups = _per_day(User.objects.all(), "date_joined", since=since, zone=zone)
    active = _people_per_day(since=since, zone=zone)
    posts = _per_day(Post.objects.exclude(kind=ChannelKind.PUNCH), "created_at", since=since, zone=zone)
    messages = _per_day(
        Message.objects.exclude(kind=MessageKind.EVENT).filter(sender__isnull=False),
        "created_at",
        since=since,
        zone=zone,
    )
    punches = _per_day(Punch.objects.all(), "punched_at", since=since, zone=zone)
    return [
        DayCounts(
            day=day,
            signups=signups.get(day, 0),
            active=active.get(day, 0),
            posts=posts.get(day, 0),
            messages=messages.get(day, 0),
            punches=punches.get(day, 0),
        )
        for day in (first + timedelta(days=n) for n in range(days))
    ]


WIDTH, HEIGHT = 360, 130
LEFT, RIGHT, TOP, BOTTOM = 30, 6, 10, 22


def bar_chart(*, label: str, days: list[date], values: list[int]) -> SafeString:
    """A bar per day; the axis names the first, middle and last day and the peak."""
    peak = max(values, default=0)
    scale = peak or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(values), 1)
    bars = format_html_join(
        "",
        '<rect class="bar" x="{}" y="{}" width="{}" height="{}" rx="1.5"><title>{} · {}</title></rect>',
        (
            (
                round(LEFT + i * step + 1, 1),
                round(TOP + plot_h - value / scale * plot_h, 1),
                round(max(step - 2, 1), 1),
                round(value / scale * plot_h, 1),
                short_date_text(day, today=days[-1]),
                value,
            )
            for i, (day, value) in enumerate(zip(days, values, strict=True))
        ),
    )
    last = len(days) - 1
    placed = {
        0: (LEFT, "start"),
        last // 2: (round(LEFT + (last // 2 + 0.5) * step, 1), "middle"),
        last: (WIDTH - RIGHT, "end"),
    }
    ticks = format_html_join(
        "",
        '<text class="axis" x="{}" y="{}" text-anchor="{}">{}</text>',
        (
            (x, HEIGHT - 6, anchor, short_date_text(days[i], today=days[-1]))
            for i, (x, anchor) in sorted(placed.items())
            if days
        ),
    )
    summary = (
        _("%(label)s per day, %(first)s to %(last)s: %(total)s in all, at most %(peak)s a day.")
        % {
            "label": label,
            "first": short_date_text(days[0], today=days[-1]),
            "last": short_date_text(days[-1], today=days[-1]),
            "total": sum(values),
            "peak": peak,
        }
        if days
        else label
    )
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{summary}">'
        '<line class="base" x1="{left}" x2="{right}" y1="{base}" y2="{base}"/>'
        '<line class="grid" x1="{left}" x2="{right}" y1="{top}" y2="{top}"/>'
        '<text class="axis" x="{peak_x}" y="{peak_y}" text-anchor="end">{peak}</text>'
        '<text class="axis" x="{peak_x}" y="{base_y}" text-anchor="end">0</text>'
        "{bars}{ticks}</svg>",
        w=WIDTH,
        h=HEIGHT,
        summary=summary,
        left=LEFT,
        right=WIDTH - RIGHT,
        base=TOP + plot_h,
        top=TOP,
        peak_x=LEFT - 5,
        peak_y=TOP + 4,
        base_y=TOP + plot_h + 4,
        peak=peak,
        bars=bars,
        ticks=ticks,
    )


def value_of(row: DayCounts, key: str) -> int:
    return int(getattr(row, key))


def dashboard(request: HttpRequest) -> HttpResponse:
    """The page (staff only: it is wrapped in `admin.site.admin_view` where it is routed)."""
    rows = daily_counts()
    days = [row.day for row in rows]
    charts = [
        {
            "key": key,
            "label": label,
            "total": sum(value_of(row, key) for row in rows),
            "today": value_of(rows[-1], key),
            "svg": bar_chart(label=str(label), days=days, values=[value_of(row, key) for row in rows]),
        }
        for key, label in METRICS.items()
    ]
    context = {
        **admin.site.each_context(request),
        "title": _("Activity, last %(days)d days") % {"days": DAYS},
        "charts": charts,
        "metrics": METRICS,
        # Newest first in the table.
        "table": [(row.day, [value_of(row, key) for key in METRICS]) for row in reversed(rows)],
        "time_zone": timezone.get_current_timezone_name(),
    }
    return TemplateResponse(request, "admin/dashboard.html", context)
