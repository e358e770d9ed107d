from datetime import date, datetime

from django import template
from django.utils import timezone

from core.when import short_date_text, when_text

register = template.Library()


@register.filter
def when(value: datetime | None) -> str:
    """{{ post.created_at|when }}: 'today 06:42' / 'yesterday 23:10' / 'Nov 3'."""
    if not isinstance(value, datetime):
        return ""
    return when_text(value)


@register.filter
def short_date(value: date | None) -> str:
    """{{ day|short_date }}: a calendar day as 'Nov 3' (this year) or 'Nov 3, 2025'."""
    if not isinstance(value, date):
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return short_date_text(value)


@register.filter
def clock_length(seconds: float | None) -> str:
    """{{ message.audio_seconds|clock_length }}: a recording's length as a clock shows it, '0:07', '1:30'."""
    if seconds is None:
        return "0:00"
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"
