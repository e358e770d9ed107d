"""/push: the server's VAPID key, and turning notifications on or off for one browser or app install."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from api.auth import AUTH, api_user
from api.schemas import ErrorOut
from push import services
from push.vapid import vapid_keys

router = Router(tags=["push"])

ERRORS = {400: ErrorOut, 401: ErrorOut}


class PushKeyOut(Schema):
    public_key: str  # base64url: the browser's `applicationServerKey`


class SubscriptionKeysIn(Schema):
    p256dh: str
    auth: str


class SubscriptionIn(Schema):
    """What a browser's `PushSubscription.toJSON()` gives."""

    endpoint: str
    keys: SubscriptionKeysIn
    expirationTime: int | None = None  # the browser's own name for it


class UnsubscribeIn(Schema):
    endpoint: str


class SubscriptionOut(Schema):
    id: str
    created_at: datetime
    last_success_at: datetime | None


@router.get("/push/key", response={200: PushKeyOut, 401: ErrorOut}, auth=AUTH)
def push_key(request: HttpRequest) -> PushKeyOut:
    return PushKeyOut(public_key=vapid_keys().public_key)


@router.post("/push/subscriptions", response={201: SubscriptionOut, **ERRORS}, auth=AUTH)
def subscribe(request: HttpRequest, payload: SubscriptionIn) -> Status[SubscriptionOut]:
    """Notify this browser of new message requests and messages (not of muted conversations)."""
    subscription = services.push_subscribe(
        user=api_user(request), endpoint=payload.endpoint, p256dh=payload.keys.p256dh, auth=payload.keys.auth
    )
    return Status(
        201,
        SubscriptionOut(
            id=subscription.public_id,
            created_at=subscription.created_at,
            last_success_at=subscription.last_success_at,
        ),
    )


@router.delete("/push/subscriptions", response={204: None, **ERRORS}, auth=AUTH)
def unsubscribe(request: HttpRequest, payload: UnsubscribeIn) -> Status[None]:
    """Stop notifying this browser. Saying it for an endpoint that isn't subscribed is not an error."""
    services.push_unsubscribe(user=api_user(request), endpoint=payload.endpoint)
    return Status(204, None)
