"""Sending one encrypted notification to one push service (RFC 8030/8291/8292, by pywebpush)."""

import json
import logging
from enum import Enum
from typing import Any

import requests
from django.conf import settings
from django.utils import timezone
from pywebpush import WebPushException, webpush

from .models import PushSubscription
from .vapid import vapid_keys

log = logging.getLogger(__name__)

TTL_SECONDS = 24 * 60 * 60  # a phone that is off for a day still hears of the message when it wakes
TIMEOUT_SECONDS = 10
GONE = {404, 410}  # the browser dropped the subscription: it will never work again


class Outcome(Enum):
    SENT = "sent"
    GONE = "gone"
    FAILED = "failed"


def deliver(subscription: PushSubscription, payload: dict[str, Any], *, topic: str | None = None) -> Outcome:
    """Encrypt `payload` for this browser and post it to its push service. A subscription the service says is
    gone is deleted; any other failure is logged and left for the next message."""
    headers: dict[str, str | int | float] = {"Urgency": "normal"}
    if topic:
        headers["Topic"] = topic  # a newer notification with the same topic replaces an undelivered one
    try:
        webpush(
            subscription_info=subscription.as_subscription_info(),
            data=json.dumps(payload, ensure_ascii=False),
            vapid_private_key=vapid_keys().signer,
            vapid_claims={"sub": settings.VAPID_SUBJECT},  # a fresh dict: webpush adds aud and exp to it
            ttl=TTL_SECONDS,
            timeout=TIMEOUT_SECONDS,
            headers=headers,
        )
    except WebPushException as error:
        status = error.response.status_code if error.response is not None else None
        if status in GONE:
            PushSubscription.objects.filter(pk=subscription.pk).delete()
            return Outcome.GONE
        log.warning("push to subscription %s refused: %s", subscription.public_id, status)
        return Outcome.FAILED
    except requests.RequestException as error:
        log.warning("push to subscription %s failed: %s", subscription.public_id, type(error).__name__)
        return Outcome.FAILED
    PushSubscription.objects.filter(pk=subscription.pk).update(last_success_at=timezone.now())
    return Outcome.SENT
