"""Reads on accounts."""

from collections.abc import Callable
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.utils import timezone

from core.pagination import Page, keyset_page

from .models import AccessToken, User

ExportSection = Callable[[User], Any]
_export_sections: dict[str, ExportSection] = {}


def register_export_section(name: str) -> Callable[[ExportSection], ExportSection]:
    """Each feature adds the part of a person's data it holds to their export."""

    def register(section: ExportSection) -> ExportSection:
        _export_sections[name] = section
        return section

    return register


@register_export_section("account")
def _account_section(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "email": user.email,
        "email_verified": user.email_verified,
        "pending_email": user.pending_email or None,
        "timezone": user.timezone,
        "language": user.language,
        "joined_at": user.date_joined.isoformat(),
    }


@register_export_section("tokens")
def _tokens_section(user: User) -> list[dict[str, Any]]:
    return [
        {
            "id": token.public_id,
            "name": token.name,
            "created_at": token.created_at.isoformat(),
            "last_used_at": token.last_used_at.isoformat() if token.last_used_at else None,
        }
        for token in user_tokens(user=user)
    ]


def account_export(*, user: User) -> dict[str, Any]:
    """Everything same holds about this person, for them alone."""
    data: dict[str, Any] = {"format": "same-export/1", "exported_at": timezone.now().isoformat()}
    for name, section in _export_sections.items():
        data[name] = section(user)
    return data


def user_tokens(*, user: User) -> list[AccessToken]:
    return list(AccessToken.objects.filter(user=user).order_by("-created_at"))


def user_tokens_page(*, user: User, cursor: str | None = None, size: int = 50) -> Page[AccessToken]:
    """The apps signed in as this person, newest first, a page at a time."""
    return keyset_page(
        AccessToken.objects.filter(user=user), order=("created_at", "public_id"), cursor=cursor, size=size
    )


def session_expires_at(*, session_key: str) -> datetime | None:
    """When the session with this key expires as it stands now (later than it did, if it was saved again since:
    SESSION_SAVE_EVERY_REQUEST, `set_expiry`); None if it has expired or is gone. A socket signed in with it reads
    this as it signs in and again at that moment (core.realtime.LiveConsumer).

    Exact for the engines that keep sessions in the database (the default, and cached_db): one query by key. For
    the others, an upper bound from the session's data (its `set_expiry`, or SESSION_COOKIE_AGE from now)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)
    get_model_class = getattr(store, "get_model_class", None)
    if get_model_class is not None:
        expires: datetime | None = (
            get_model_class()
            .objects.filter(session_key=session_key, expire_date__gt=timezone.now())
            .values_list("expire_date", flat=True)
            .first()
        )
        return expires
    if not store.keys():  # expired or gone: it reads empty
        return None
    upper_bound: datetime = store.get_expiry_date()
    return upper_bound
