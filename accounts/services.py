"""Writes on accounts. Every door (web, API) calls these; they own the checks and the transaction."""

import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta
from functools import cache, lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ServiceError, ValidationFailed, gather_checks
from core.prepared import Prepared, sql_for
from core.ratelimit import rate_limit_hit
from core.rawsql import converted, fetch_one, instance, select_list, width

from . import signouts, tasks
from .backends import EmailOrUsernameBackend
from .deletion import run_deletion_steps
from .models import AccessToken, User
from .tokens import password_reset_tokens, read_email_verification_token
from .usernames import clean_username, username_key

EMAIL_MAX_LENGTH = 254
PASSWORD_MAX_LENGTH = 256


@lru_cache(maxsize=1)
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _language_codes() -> set[str]:
    return {code for code, _name in settings.LANGUAGES}


def clean_email(raw: str, *, field: str = "email") -> str:
    email = raw.strip().lower()
    if not email:
        raise ServiceError("required", _("Enter your email address."), field=field)
    if len(email) > EMAIL_MAX_LENGTH:
        raise ServiceError("too_long", _("An email address has at most 254 characters."), field=field)
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError("invalid_email", _("This doesn't look like an email address."), field=field) from None
    return email


def clean_timezone(raw: str) -> str:
    name = raw.strip()
    if name not in _time_zones():
        raise ServiceError("invalid_timezone", _("Choose a time zone from the list."), field="timezone")
    return name


def clean_language(raw: str) -> str:
    if raw not in _language_codes():
        raise ServiceError("invalid_language", _("Choose a language from the list."), field="language")
    return raw


def _username_or_error(raw: str, *, current: User | None = None) -> str:
    try:
        username = clean_username(raw)
    except ValidationError as error:
        raise ServiceError(error.code or "invalid_username", error.messages[0], field="username") from None
    taken = User.objects.filter(username_key=username_key(username))
    if current is not None:
        taken = taken.exclude(pk=current.pk)
    if taken.exists():
        raise ServiceError("username_taken", _("This username is taken."), field="username")
    return username


def _validated_password(password: str, *, user: User | None = None, field: str = "password") -> str:
    if not password:
        raise ServiceError("required", _("Choose a password."), field=field)
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ServiceError("too_long", _("A password has at most 256 characters."), field=field)
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as error:
        raise ServiceError("weak_password", " ".join(error.messages), field=field) from None
    return password


def username_check(*, username: str, client_ip: str) -> None:
    """Raise if `username` can't be had. The one place that tells whether a name exists: rate-limited."""
    rate_limit_hit(scope="username_check_ip", key=client_ip)
    _username_or_error(username)


@dataclass(frozen=True)
class Registration:
    username: str
    user: User | None  # None when the email already had an account: nothing was created.


def user_register(
    *, email: str, username: str, password: str, time_zone: str = "UTC", language: str = "en", client_ip: str
) -> Registration:
    """Create an account and email a verification link.

    If the email already has an account, the answer looks the same and that account's owner
    gets a notice instead, so sign-up never tells whether an address is registered.
    """
    rate_limit_hit(scope="signup_ip", key=client_ip)
    cleaned, errors = gather_checks(
        {
            "email": lambda: clean_email(email),
            "username": lambda: _username_or_error(username),
            "timezone": lambda: clean_timezone(time_zone or "UTC"),
            "language": lambda: clean_language(language or "en"),
        }
    )
    probe = User(username=cleaned.get("username", username), email=cleaned.get("email", email))
    try:
        _validated_password(password, user=probe)
    except ServiceError as error:
        errors["password"] = [error.message]
    if errors:
        raise ValidationFailed(errors)

    user = User(
        username=cleaned["username"],
        email=cleaned["email"],
        timezone=cleaned["timezone"],
        language=cleaned["language"],
    )
    user.set_password(password)
    if User.objects.filter(email__iexact=cleaned["email"]).exists():
        transaction.on_commit(lambda: tasks.send_signup_attempt_notice.enqueue(email=cleaned["email"]))
        return Registration(username=cleaned["username"], user=None)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Lost a race for the same username or email: report it as the check would have.
        if User.objects.filter(username_key=username_key(cleaned["username"])).exists():
            raise ServiceError("username_taken", _("This username is taken."), field="username") from None
        transaction.on_commit(lambda: tasks.send_signup_attempt_notice.enqueue(email=cleaned["email"]))
        return Registration(username=cleaned["username"], user=None)
    public_id = user.public_id
    transaction.on_commit(lambda: tasks.send_verification_email.enqueue(user_public_id=public_id))
    return Registration(username=user.username, user=user)


def verification_resend(*, user: User) -> None:
    rate_limit_hit(scope="verify_resend_account", key=user.public_id)
    if user.email_verified and not user.pending_email:
        raise ServiceError("already_verified", _("Your email is already verified."))
    public_id = user.public_id
    transaction.on_commit(lambda: tasks.send_verification_email.enqueue(user_public_id=public_id))


def email_verify(*, token: str) -> User:
    """Confirm the address a link was sent to. A link works once and for three days."""
    with transaction.atomic():
        outcome = _apply_verification(token)
    # Raised after the commit: refusing a taken address also drops it from pending_email.
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def _apply_verification(token: str) -> User | ServiceError:
    try:
        payload = read_email_verification_token(token.strip())
    except signing.SignatureExpired:
        raise ServiceError("token_expired", _("This link has expired. Ask for a new one."), field="token") from None
    except signing.BadSignature:
        raise ServiceError("token_invalid", _("This link is not valid."), field="token") from None
    user = User.objects.select_for_update().filter(public_id=payload.public_id).first()
    if user is None:
        raise ServiceError("token_invalid", _("This link is not valid."), field="token")
    if user.pending_email and user.pending_email == payload.email:
        old_email = user.email
        if User.objects.filter(email__iexact=payload.email).exclude(pk=user.pk).exists():
            user.pending_email = ""
            user.save(update_fields=["pending_email"])
            return ServiceError("email_taken", _("This address now belongs to another account."), field="token")
        user.email = payload.email
        user.pending_email = ""
        user.email_verified = True
        user.save(update_fields=["email", "pending_email", "email_verified"])
        username, language = user.username, user.language
        transaction.on_commit(
            lambda: tasks.send_email_changed_notice.enqueue(old_email=old_email, username=username, language=language)
        )
        return user
    if user.email == payload.email and not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
        return user
    raise ServiceError("token_used", _("This link was already used."), field="token")


def user_login(*, login: str, password: str, client_ip: str) -> User:
    """The person whose credentials these are; the same refusal whether or not the login exists."""
    rate_limit_hit(scope="login_ip", key=client_ip)
    rate_limit_hit(scope="login_account", key=login.strip().lower() or "-")
    if len(password) > PASSWORD_MAX_LENGTH or len(login) > EMAIL_MAX_LENGTH:
        raise ServiceError("invalid_credentials", _("Those details don't match an account."))
    user = EmailOrUsernameBackend().authenticate(None, username=login, password=password)
    if user is None:
        raise ServiceError("invalid_credentials", _("Those details don't match an account."))
    return user


def password_reset_request(*, email: str, client_ip: str) -> None:
    """Email a reset link if the address has an account. Answers the same either way."""
    rate_limit_hit(scope="reset_ip", key=client_ip)
    address = clean_email(email)
    rate_limit_hit(scope="reset_account", key=address)
    transaction.on_commit(lambda: tasks.send_password_reset_email.enqueue(email=address))


def _user_for_reset_token(token: str) -> User:
    public_id, _sep, secret = token.strip().partition(".")
    user = User.objects.filter(public_id=public_id, is_active=True).first() if public_id else None
    if user is None or not password_reset_tokens.check_token(user, secret):
        raise ServiceError(
            "token_invalid", _("This reset link is not valid any more. Ask for a new one."), field="token"
        )
    return user


def password_reset_check(*, token: str) -> User:
    return _user_for_reset_token(token)


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    user = _user_for_reset_token(token)
    _validated_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    # Following a link from the inbox proves the inbox.
    user.email_verified = user.email_verified or not user.pending_email
    user.save(update_fields=["password", "email_verified"])
    AccessToken.objects.filter(user=user).delete()
    signouts.everything_ended(user=user)
    return user


def _check_password(user: User, password: str, *, field: str = "password") -> None:
    if not password or len(password) > PASSWORD_MAX_LENGTH or not user.check_password(password):
        raise ServiceError("wrong_password", _("That password isn't right."), field=field)


@transaction.atomic
def user_update_profile(
    *, user: User, username: str, time_zone: str, language: str, sound_on: bool | None = None
) -> User:
    values, errors = gather_checks(
        {
            "username": lambda: username if username == user.username else _username_or_error(username, current=user),
            "timezone": lambda: clean_timezone(time_zone),
            "language": lambda: clean_language(language),
        }
    )
    if errors:
        raise ValidationFailed(errors)
    user.username = values["username"]
    user.timezone = values["timezone"]
    user.language = values["language"]
    if sound_on is not None:
        user.sound_on = sound_on
    try:
        with transaction.atomic():
            user.save(update_fields=["username", "username_key", "timezone", "language", "sound_on"])
    except IntegrityError:
        raise ServiceError("username_taken", _("This username is taken."), field="username") from None
    return user


@transaction.atomic
def user_change_email(*, user: User, new_email: str, password: str) -> None:
    """Keep the new address aside until its owner follows the link we send there."""
    _check_password(user, password)
    address = clean_email(new_email, field="email")
    if address == user.email:
        raise ServiceError("unchanged", _("That is already your email."), field="email")
    user.pending_email = address
    user.save(update_fields=["pending_email"])
    if User.objects.filter(email__iexact=address).exclude(pk=user.pk).exists():
        # Don't reveal the other account; its owner's inbox never gets a link, and verify refuses.
        return
    public_id = user.public_id
    transaction.on_commit(lambda: tasks.send_verification_email.enqueue(user_public_id=public_id))


@transaction.atomic
def user_change_password(*, user: User, old_password: str, new_password: str) -> None:
    _check_password(user, old_password, field="old_password")
    _validated_password(new_password, user=user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    signouts.sessions_ended(user=user)


@transaction.atomic
def user_delete(*, user: User, password: str) -> None:
    """Remove the account and everything it made. Asks for the password: it cannot be undone."""
    _check_password(user, password)
    user_remove(user=user)


@transaction.atomic
def user_remove(*, user: User) -> None:
    """Remove the account and everything it made, with no question asked: the one way an account goes, for the
    doors that have already decided (its owner's password in `user_delete`, an operator in the admin). Each
    feature's deletion step runs (accounts/deletion.py: files on storage, channels the person hosts), then the row
    goes, which ends every session and token of theirs and closes their sockets (accounts/signouts.py)."""
    run_deletion_steps(user)
    user.delete()


@dataclass(frozen=True)
class IssuedToken:
    token: AccessToken
    secret: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_issue(*, login: str, password: str, client_ip: str, name: str = "") -> IssuedToken:
    user = user_login(login=login, password=password, client_ip=client_ip)
    secret = "same_" + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(user=user, digest=_digest(secret), name=name[:100])
    return IssuedToken(token=token, secret=secret)


@cache
def bearer_lookup(vendor: str) -> Prepared:
    """A bearer token's person, the token's row id and last use, by the token's digest. On PostgreSQL the token's
    last use is written in the same statement when it is due (`token_touch_params`): one round trip, where a stale
    token took two. The UPDATE does not change what the SELECT reads (one snapshot for both). A socket's text runs
    the same statement as the first of its one round trip (chat.services.at_once)."""
    select = (
        f"SELECT {select_list(User, 'u')}, t.id, t.last_used_at"  # noqa: S608  (the model's columns)
        " FROM accounts_user u JOIN accounts_accesstoken t ON t.user_id = u.id WHERE t.digest = %s"
    )
    if vendor != "postgresql":
        return Prepared("same_bearer_lookup", select)
    return Prepared(
        "same_bearer_lookup_touched",
        "WITH touched AS (UPDATE accounts_accesstoken t SET last_used_at = %s FROM accounts_user u"  # noqa: S608
        " WHERE t.digest = %s AND u.id = t.user_id AND u.is_active"
        f" AND (t.last_used_at IS NULL OR t.last_used_at < %s)) {select}",
    )


def token_touch_params(digest: str, now: Any) -> list[Any]:
    """The parameters of a token's touch when stale (`last_used_at = %s WHERE digest = %s AND (last_used_at IS NULL
    OR last_used_at < %s)`): now, the digest, and the time before which a last use is stale."""
    adapt = connection.ops.adapt_datetimefield_value
    return [adapt(now), digest, adapt(now - TOKEN_TOUCH_EVERY)]


def token_authenticate(*, secret: str) -> User | None:
    """The person a bearer token belongs to. Every API request of an app runs this, so it is one
    hand-written statement (core/rawsql.py: the ORM's lookup cost 1.4 ms of CPU), prepared once per connection
    where connections last, and the token's last use is written at most once a minute: on PostgreSQL in the same
    statement."""
    digest = bearer_digest(secret)
    if digest is None:
        return None
    lookup = bearer_lookup(connection.vendor)
    touch_here = connection.vendor == "postgresql"
    (sql,) = sql_for(lookup)
    row = fetch_one(sql, [*token_touch_params(digest, timezone.now()), digest] if touch_here else [digest])
    if row is None:
        return None
    user = instance(User, row)
    assert user is not None  # the JOIN's side: always there
    if touch_here:
        return user if user.is_active else None
    return token_user(user, token_pk=row[width(User)], last_used_at=row[width(User) + 1])


def bearer_digest(secret: str) -> str | None:
    """What a bearer token is looked up by (`accounts_accesstoken.digest`); None for a string that is no token."""
    if not secret.startswith("same_") or len(secret) > 100:
        return None
    return _digest(secret)


TOKEN_TOUCH_EVERY = timedelta(seconds=60)  # a token's `last_used_at` is written at most this often


def token_user(user: User, *, token_pk: int, last_used_at: Any) -> User | None:
    """`user`, found by the token `token_pk` (its `last_used_at` as the database gave it), if they may still use
    it; the token's last use is written at most once a minute. For lookups that read the token with more
    (chat.services.token_and_conversation)."""
    if not user.is_active:
        return None
    last_used = converted(AccessToken, ["last_used_at"], [last_used_at])["last_used_at"]
    now = timezone.now()
    if last_used is None or now - last_used > TOKEN_TOUCH_EVERY:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounts_accesstoken SET last_used_at = %s WHERE id = %s",
                [connection.ops.adapt_datetimefield_value(now), token_pk],
            )
    return user


@transaction.atomic
def token_revoke(*, user: User, token_id: str) -> None:
    """Sign an app out: its token stops working, and its sockets close, at once."""
    token = AccessToken.objects.filter(user=user, public_id=token_id).first()
    if token is None:
        raise ServiceError("not_found", _("No such token."), status=404)
    token.delete()
    signouts.token_ended(user=user, digest=token.digest)
