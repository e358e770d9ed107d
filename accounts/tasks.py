"""Background work for accounts: every email goes out from here, never from a request."""

from django.conf import settings
from django.tasks import task

from .emails import send_templated_email
from .models import User
from .tokens import email_verification_token, password_reset_token


@task()
def send_verification_email(*, user_public_id: str) -> None:
    user = User.objects.filter(public_id=user_public_id).first()
    if user is None:
        return
    address = user.pending_email or user.email
    if not user.pending_email and user.email_verified:
        return
    token = email_verification_token(user)
    send_templated_email(
        to=address,
        template="verify_change" if user.pending_email else "verify",
        context={"username": user.username, "url": f"{settings.SITE_URL}/verify/{token}"},
        language=user.language,
    )


@task()
def send_signup_attempt_notice(*, email: str) -> None:
    """Someone signed up with an address that already has an account: tell its owner, not them."""
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        return
    send_templated_email(
        to=user.email,
        template="signup_attempt",
        context={"username": user.username, "login_url": f"{settings.SITE_URL}/login"},
        language=user.language,
    )


@task()
def send_password_reset_email(*, email: str) -> None:
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None:
        return
    token = password_reset_token(user)
    send_templated_email(
        to=user.email,
        template="password_reset",
        context={"username": user.username, "url": f"{settings.SITE_URL}/password/reset/{token}"},
        language=user.language,
    )


@task()
def send_email_changed_notice(*, old_email: str, username: str, language: str) -> None:
    send_templated_email(to=old_email, template="email_changed", context={"username": username}, language=language)
