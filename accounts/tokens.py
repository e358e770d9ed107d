"""Signed, expiring tokens for the links we email. Each carries the state it changes, so a
link works once: after the email is verified, or the password changed, it no longer matches."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import signing

from .models import User

_VERIFY_SALT = "same.accounts.verify-email"


def email_verification_token(user: User) -> str:
    address = user.pending_email or user.email
    return signing.dumps({"u": user.public_id, "e": address}, salt=_VERIFY_SALT, compress=True)


class VerifyPayload:
    def __init__(self, public_id: str, email: str):
        self.public_id = public_id
        self.email = email


def read_email_verification_token(token: str) -> VerifyPayload:
    """Raises signing.SignatureExpired or signing.BadSignature."""
    data = signing.loads(token, salt=_VERIFY_SALT, max_age=settings.EMAIL_VERIFY_MAX_AGE)
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("e"), str):
        raise signing.BadSignature("malformed")
    return VerifyPayload(data["u"], data["e"])


class _ResetTokens(PasswordResetTokenGenerator):
    key_salt = "same.accounts.password-reset"


password_reset_tokens = _ResetTokens()


def password_reset_token(user: User) -> str:
    return f"{user.public_id}.{password_reset_tokens.make_token(user)}"
