"""Small helpers every door shares."""

from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


def client_ip(request: HttpRequest) -> str:
    """The caller's address. Behind a reverse proxy, set TRUSTED_PROXY_HOPS to read X-Forwarded-For."""
    hops = getattr(settings, "TRUSTED_PROXY_HOPS", 0)
    if hops:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            return str(forwarded[-hops])
    return str(request.META.get("REMOTE_ADDR", "unknown"))


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


if TYPE_CHECKING:
    from accounts.models import User


def signed_in_user(request: HttpRequest) -> "User":
    """The person behind a request that passed @login_required."""
    return cast("User", request.user)
