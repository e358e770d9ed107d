"""Inline SVG charts, drawn on the server: a person's last 30 days, and today's punch times."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.when import short_date_text

from .selectors import DayPoint

WIDTH, HEIGHT = 340, 170
LEFT, RIGHT, TOP, BOTTOM = 38, 8, 10, 24


def _clock(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


def history_chart(points: list[DayPoint]) -> SafeString:
    """Time of day per date: earlier is higher. Missed days leave a gap in the line."""
    times = [p.local_seconds for p in points if p.local_seconds is not None]
    if times:
        low = max(0, (min(times) // 3600) * 3600)
        high = min(24 * 3600, (max(times) // 3600 + 1) * 3600)
    else:
        low, high = 6 * 3600, 9 * 3600
    span = max(high - low, 3600)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(points) - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y(seconds: int) -> float:
        return round(TOP + (seconds - low) / span * plot_h, 1)

    segments: list[list[tuple[float, float]]] = [[]]
    for index, point in enumerate(points):
        if point.local_seconds is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append((x(index), y(point.local_seconds)))
    path = " ".join("M" + " L".join(f"{px},{py}" for px, py in segment) for segment in segments if len(segment) > 1)
    hours = range(low, high + 1, 3600 if span <= 6 * 3600 else 3 * 3600)
    grid = format_html_join(
        "",
        '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/><text class="axis" x="{}" y="{}" text-anchor="end">{}</text>',
        ((LEFT, WIDTH - RIGHT, y(h), y(h), LEFT - 6, y(h) + 4, _clock(h)) for h in hours),
    )
    dots = format_html_join(
        "",
        '<circle class="dot" cx="{}" cy="{}" r="3.5"><title>{} · {}</title></circle>',
        (
            (x(i), y(p.local_seconds), short_date_text(p.day, today=points[-1].day), _clock(p.local_seconds))
            for i, p in enumerate(points)
            if p.local_seconds is not None
        ),
    )
    anchors = {0: "start", len(points) - 1: "end"}  # the end labels stay inside the frame
    labels = format_html_join(
        "",
        '<text class="axis" x="{}" y="{}" text-anchor="{}">{}</text>',
        (
            (x(i), HEIGHT - 6, anchors.get(i, "middle"), short_date_text(points[i].day, today=points[-1].day))
            for i in sorted({0, len(points) // 2, len(points) - 1})
            if points
        ),
    )
    label = ngettext(
        "Your punch-in times over the last %(n)d days: %(count)d punch.",
        "Your punch-in times over the last %(n)d days: %(count)d punches.",
        len(times),
    ) % {"n": len(points), "count": len(times)}
    return format_html(
        '<svg class="chart history" viewBox="0 0 {} {}" role="img" aria-label="{}">{}<path class="line" d="{}"/>{}{}</svg>',
        WIDTH,
        HEIGHT,
        label,
        grid,
        path,
        dots,
        labels,
    )


def histogram_chart(counts: list[int], mine: int | None = None) -> SafeString:
    """Today's punches by local hour; the viewer's own hour is highlighted."""
    plot_w, plot_h = WIDTH - 16, HEIGHT - TOP - BOTTOM
    peak = max(counts) or 1
    bar = plot_w / 24
    bars = format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}" rx="2"><title>{}:00 · {}</title></rect>',
        (
            (
                "bar mine" if mine is not None and hour == mine // 3600 else "bar",
                round(8 + hour * bar + 1, 1),
                round(TOP + plot_h - count / peak * plot_h, 1),
                round(bar - 2, 1),
                round(count / peak * plot_h, 1),
                f"{hour:02d}",
                count,
            )
            for hour, count in enumerate(counts)
        ),
    )
    ticks = format_html_join(
        "",
        '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((round(8 + h * bar + bar / 2, 1), HEIGHT - 6, f"{h:02d}") for h in (0, 6, 12, 18, 23)),
    )
    label = _("Today's punches by hour: %(total)d in all.") % {"total": sum(counts)}
    return format_html(
        '<svg class="chart histogram" viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}</svg>',
        WIDTH,
        HEIGHT,
        label,
        bars,
        ticks,
    )
