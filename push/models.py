from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import new_public_id


class PushSubscription(models.Model):
    """One browser (or app install) of one person that asked to be told about new messages.

    The endpoint is the push service's address for that browser: unique, so a browser that changes hands
    (another person logs in and turns notifications on) notifies only its new owner. The keys encrypt
    what is sent (RFC 8291). A push service answering 404 or 410 means the browser dropped it: the row goes.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=100)  # the browser's P-256 public key, base64url
    auth = models.CharField(max_length=40)  # the shared 16-byte secret, base64url
    created_at = models.DateTimeField(default=timezone.now)
    last_success_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"push subscription {self.public_id}"

    def as_subscription_info(self) -> dict[str, object]:
        """The shape pywebpush (and the browser's PushSubscription.toJSON()) uses."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}
