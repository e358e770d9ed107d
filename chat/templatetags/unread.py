"""How an unread count reads: counts stop at chat.selectors.UNREAD_CAP, shown as "99+"."""

from django import template

from chat.selectors import UNREAD_CAP

register = template.Library()


@register.filter
def unread_count(value: int) -> str:
    return f"{UNREAD_CAP - 1}+" if value >= UNREAD_CAP else str(value)


@register.filter
def unread_capped(value: int) -> bool:
    return value >= UNREAD_CAP
