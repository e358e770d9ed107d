"""/auth and /me: sign-up, tokens and one's own account."""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from ninja import Router, Schema, Status

from accounts import services
from accounts.models import User
from accounts.selectors import account_export, user_tokens_page
from api.auth import AUTH, api_user
from api.schemas import ErrorOut
from core.http import client_ip

router = Router(tags=["accounts"])

ERRORS = {400: ErrorOut, 429: ErrorOut}
AUTH_ERRORS = {401: ErrorOut}


class RegisterIn(Schema):
    email: str
    username: str
    password: str
    timezone: str = "UTC"
    # Unset: the language the app's Accept-Language asked for (English without one).
    language: str | None = None


class RegisterOut(Schema):
    username: str


class VerifyIn(Schema):
    token: str


class OkOut(Schema):
    ok: bool = True


class TokenIn(Schema):
    login: str
    password: str
    name: str = ""


class TokenOut(Schema):
    token: str
    id: str


class PasswordResetIn(Schema):
    email: str


class PasswordResetConfirmIn(Schema):
    token: str
    new_password: str


class UsernameOut(Schema):
    username: str
    available: bool


class MeOut(Schema):
    username: str
    email: str
    timezone: str
    language: str
    email_verified: bool
    pending_email: str | None = None
    sound_on: bool = True


class MeUpdateIn(Schema):
    username: str | None = None
    timezone: str | None = None
    language: str | None = None
    sound_on: bool | None = None


class EmailChangeIn(Schema):
    email: str
    password: str


class PasswordChangeIn(Schema):
    old_password: str
    new_password: str


class PasswordIn(Schema):
    password: str


class TokenInfoOut(Schema):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None


def _me_out(user: User) -> MeOut:
    return MeOut(
        username=user.username,
        email=user.email,
        timezone=user.timezone,
        language=user.language,
        email_verified=user.email_verified,
        pending_email=user.pending_email or None,
        sound_on=user.sound_on,
    )


@router.post("/auth/register", response={201: RegisterOut, **ERRORS}, auth=None)
def register(request: HttpRequest, payload: RegisterIn) -> Status[RegisterOut]:
    """Create an account; a verification link is emailed. The answer is the same if the email was already registered."""
    registration = services.user_register(
        email=payload.email,
        username=payload.username,
        password=payload.password,
        time_zone=payload.timezone,
        language=payload.language or translation.get_language() or "en",
        client_ip=client_ip(request),
    )
    return Status(201, RegisterOut(username=registration.username))


@router.get("/auth/username", response={200: UsernameOut, **ERRORS, 409: ErrorOut}, auth=None)
def username_available(request: HttpRequest, username: str) -> UsernameOut:
    """Whether a username can be had (rate-limited: the one check that tells whether a name exists)."""
    services.username_check(username=username, client_ip=client_ip(request))
    return UsernameOut(username=username.strip(), available=True)


@router.post("/auth/verify", response={200: OkOut, **ERRORS}, auth=None)
def verify(request: HttpRequest, payload: VerifyIn) -> OkOut:
    services.email_verify(token=payload.token)
    return OkOut()


@router.post("/auth/token", response={200: TokenOut, **ERRORS}, auth=None)
def token(request: HttpRequest, payload: TokenIn) -> TokenOut:
    """Exchange a login (email or username) and password for a bearer token."""
    issued = services.token_issue(
        login=payload.login, password=payload.password, client_ip=client_ip(request), name=payload.name
    )
    return TokenOut(token=issued.secret, id=issued.token.public_id)


@router.post("/auth/password-reset", response={202: OkOut, **ERRORS}, auth=None)
def password_reset(request: HttpRequest, payload: PasswordResetIn) -> Status[OkOut]:
    """Email a reset link if the address has an account; the answer is the same either way."""
    services.password_reset_request(email=payload.email, client_ip=client_ip(request))
    return Status(202, OkOut())


@router.post("/auth/password-reset/confirm", response={200: OkOut, **ERRORS}, auth=None)
def password_reset_confirm(request: HttpRequest, payload: PasswordResetConfirmIn) -> OkOut:
    services.password_reset_confirm(token=payload.token, new_password=payload.new_password)
    return OkOut()


@router.get("/me", response={200: MeOut, **AUTH_ERRORS}, auth=AUTH)
def me(request: HttpRequest) -> MeOut:
    """The only place the email appears: to its owner."""
    return _me_out(api_user(request))


@router.patch("/me", response={200: MeOut, **ERRORS, **AUTH_ERRORS}, auth=AUTH)
def me_update(request: HttpRequest, payload: MeUpdateIn) -> MeOut:
    user = api_user(request)
    services.user_update_profile(
        user=user,
        username=payload.username if payload.username is not None else user.username,
        time_zone=payload.timezone if payload.timezone is not None else user.timezone,
        language=payload.language if payload.language is not None else user.language,
        sound_on=payload.sound_on,
    )
    return _me_out(user)


@router.post("/me/verify/resend", response={202: OkOut, **ERRORS, **AUTH_ERRORS}, auth=AUTH)
def verify_resend(request: HttpRequest) -> Status[OkOut]:
    services.verification_resend(user=api_user(request))
    return Status(202, OkOut())


@router.post("/me/email", response={202: OkOut, **ERRORS, **AUTH_ERRORS}, auth=AUTH)
def change_email(request: HttpRequest, payload: EmailChangeIn) -> Status[OkOut]:
    """The new address takes effect when its owner follows the link sent there."""
    services.user_change_email(user=api_user(request), new_email=payload.email, password=payload.password)
    return Status(202, OkOut())


@router.post("/me/password", response={200: OkOut, **ERRORS, **AUTH_ERRORS}, auth=AUTH)
def change_password(request: HttpRequest, payload: PasswordChangeIn) -> OkOut:
    services.user_change_password(
        user=api_user(request), old_password=payload.old_password, new_password=payload.new_password
    )
    return OkOut()


@router.delete("/me", response={204: None, **ERRORS, **AUTH_ERRORS}, auth=AUTH)
def delete_me(request: HttpRequest, payload: PasswordIn) -> Status[None]:
    """Delete the account and everything it made. Asks for the password."""
    services.user_delete(user=api_user(request), password=payload.password)
    return Status(204, None)


@router.get("/me/export", response={200: dict[str, Any], **AUTH_ERRORS}, auth=AUTH)
def export(request: HttpRequest) -> HttpResponse | dict[str, Any]:
    return account_export(user=api_user(request))


class TokenList(Schema):
    items: list[TokenInfoOut]
    next: str | None


@router.get("/me/tokens", response={200: TokenList, 400: ErrorOut, **AUTH_ERRORS}, auth=AUTH)
def tokens(request: HttpRequest, cursor: str | None = None) -> TokenList:
    """The apps signed in as you (never the tokens themselves), newest first, 50 a page."""
    page = user_tokens_page(user=api_user(request), cursor=cursor)
    return TokenList(
        items=[
            TokenInfoOut(id=t.public_id, name=t.name, created_at=t.created_at, last_used_at=t.last_used_at)
            for t in page.items
        ],
        next=page.next,
    )


@router.delete("/me/tokens/{token_id}", response={204: None, 404: ErrorOut, **AUTH_ERRORS}, auth=AUTH)
def revoke_token(request: HttpRequest, token_id: str) -> Status[None]:
    services.token_revoke(user=api_user(request), token_id=token_id)
    return Status(204, None)
