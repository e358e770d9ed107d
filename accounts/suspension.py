"""A suspended person can read, but cannot post, message, punch in or create channels. Every feature that
lets someone speak calls `ensure_not_suspended` first, so the web, the API and the WebSocket refuse alike."""

from datetime import UTC, datetime

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.errors import PermissionDenied

from .models import User

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)


def is_for_good(until: datetime | None) -> bool:
    return until is not None and until.year >= 9999


def suspension_message(user: User) -> str:
    reason = user.suspension_reason or _("a breach of the community rules")
    if is_for_good(user.suspended_until):
        return _("Your account is suspended for good, for %(reason)s.") % {"reason": reason}
    assert user.suspended_until is not None
    return _("Your account is suspended until %(until)s, for %(reason)s.") % {
        "until": date_format(user.suspended_until, "DATETIME_FORMAT"),
        "reason": reason,
    }


def ensure_not_suspended(user: User) -> None:
    if user.is_suspended:
        raise PermissionDenied("suspended", suspension_message(user))
