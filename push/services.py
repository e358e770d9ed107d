"""Writes on push subscriptions: a browser turns notifications on or off for the person using it."""

import binascii
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ServiceError

from .models import PushSubscription
from .vapid import b64url_decode

ENDPOINT_MAX = 1000
DEVICES_MAX = 10  # a person's newest subscriptions; older ones (a phone long gone) make way


def _clean_endpoint(endpoint: str) -> str:
    clean = endpoint.strip()
    refused = ServiceError("invalid_endpoint", _("This is not a push service's address."), field="endpoint")
    if not clean or len(clean) > ENDPOINT_MAX:
        raise refused
    try:
        parts = urlsplit(clean)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (reading it checks the port is a number)
    except ValueError:
        raise refused from None
    schemes = {"https", "http"} if settings.PUSH_ALLOW_HTTP else {"https"}
    if parts.scheme not in schemes or not host or parts.username or parts.password:
        raise refused
    if not any(host == allowed or host.endswith(f".{allowed}") for allowed in settings.PUSH_SERVICE_HOSTS):
        raise ServiceError(
            "unknown_push_service", _("Notifications can't be sent through this push service."), field="endpoint"
        )
    return clean


def _decoded(value: str, *, field: str) -> bytes:
    try:
        return b64url_decode(value.strip())
    except (binascii.Error, ValueError):
        raise ServiceError("invalid_keys", _("The subscription's keys can't be read."), field=field) from None


def _clean_keys(p256dh: str, auth: str) -> tuple[str, str]:
    """The browser's P-256 public key (a point on the curve) and its 16-byte secret, as base64url."""
    point = _decoded(p256dh, field="keys.p256dh")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise ServiceError(
            "invalid_keys", _("The subscription's p256dh is not a P-256 public key."), field="keys.p256dh"
        ) from None
    if len(_decoded(auth, field="keys.auth")) != 16:
        raise ServiceError("invalid_keys", _("The subscription's auth secret must be 16 bytes."), field="keys.auth")
    return p256dh.strip().rstrip("="), auth.strip().rstrip("=")


@transaction.atomic
def push_subscribe(*, user: User, endpoint: str, p256dh: str, auth: str) -> PushSubscription:
    """Turn notifications on for this browser. Subscribing again (same endpoint) renews the keys; a browser
    another person had subscribed now notifies only this one."""
    clean_endpoint = _clean_endpoint(endpoint)
    clean_p256dh, clean_auth = _clean_keys(p256dh, auth)
    subscription, _created = PushSubscription.objects.update_or_create(
        endpoint=clean_endpoint,
        defaults={"user": user, "p256dh": clean_p256dh, "auth": clean_auth},
        create_defaults={
            "user": user,
            "p256dh": clean_p256dh,
            "auth": clean_auth,
            "created_at": timezone.now(),
        },
    )
    stale = PushSubscription.objects.filter(user=user).order_by("-created_at", "-pk").values_list("pk", flat=True)
    PushSubscription.objects.filter(pk__in=list(stale[DEVICES_MAX:])).delete()
    return subscription


def push_unsubscribe(*, user: User, endpoint: str) -> bool:
    """Turn notifications off for this browser. Only one's own subscription; saying it twice is harmless."""
    deleted, _rows = PushSubscription.objects.filter(user=user, endpoint=endpoint.strip()).delete()
    return bool(deleted)
