"""Web pages for accounts. Each view reads a form, calls one service, and shows the outcome."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import RateLimited, ServiceError
from core.forms import add_service_error
from core.http import client_ip, signed_in_user
from moderation.blocks import blocked_usernames

from . import services
from .forms import (
    DeleteAccountForm,
    EmailChangeForm,
    LoginForm,
    PasswordChangeForm,
    PasswordResetConfirmForm,
    PasswordResetRequestForm,
    ProfileForm,
    SignupForm,
)
from .selectors import account_export, user_tokens


def _form_page(
    request: HttpRequest, template: str, form: object, error: ServiceError | None = None, **context: object
) -> HttpResponse:
    status = 200
    response_headers = {}
    if error is not None:
        status = error.status if error.status >= 400 else 400
        if isinstance(error, RateLimited):
            response_headers["Retry-After"] = str(error.retry_after)
    elif getattr(form, "errors", None):
        status = 400
    response = render(request, template, {"form": form, **context}, status=status)
    for key, value in response_headers.items():
        response[key] = value
    return response


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:home")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_register(
                email=form.cleaned_data["email"],
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
                time_zone=form.cleaned_data["timezone"] or "UTC",
                language=getattr(request, "LANGUAGE_CODE", "en"),
                client_ip=client_ip(request),
            )
        except ServiceError as error:
            add_service_error(form, error)
            return _form_page(request, "accounts/signup.html", form, error)
        # The same page whether or not the address already had an account.
        request.session["signup_email"] = form.cleaned_data["email"].strip()
        return redirect("accounts:signup_sent")
    return _form_page(request, "accounts/signup.html", form)


@require_GET
def signup_sent(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/signup_sent.html", {"email": request.session.get("signup_email", "")})


@require_GET
def username_check(request: HttpRequest) -> HttpResponse:
    """htmx: tell, while typing, whether a username can be had."""
    username = request.GET.get("username", "")
    try:
        services.username_check(username=username, client_ip=client_ip(request))
    except RateLimited as error:
        response = render(request, "accounts/signup.html#username_status", {"error": error.message}, status=429)
        response["Retry-After"] = str(error.retry_after)
        return response
    except ServiceError as error:
        return render(request, "accounts/signup.html#username_status", {"error": error.message})
    return render(request, "accounts/signup.html#username_status", {"available": username.strip()})


@require_GET
def verify(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user = services.email_verify(token=token)
    except ServiceError as error:
        return render(request, "accounts/verify_failed.html", {"error": error}, status=400)
    messages.success(request, _("Your email is confirmed."))
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect("accounts:me")
    return redirect("accounts:login")


@require_POST
@login_required
def verify_resend(request: HttpRequest) -> HttpResponse:
    try:
        services.verification_resend(user=signed_in_user(request))
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("We sent the link again."))
    return redirect(request.POST.get("next") or "core:home")


@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("core:home")
    form = LoginForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_login(
                login=form.cleaned_data["login"], password=form.cleaned_data["password"], client_ip=client_ip(request)
            )
        except ServiceError as error:
            add_service_error(form, error)
            return _form_page(request, "accounts/login.html", form, error)
        auth_login(request, user, backend="accounts.backends.EmailOrUsernameBackend")
        next_url = request.GET.get("next", "")
        if next_url.startswith("/") and not next_url.startswith("//"):
            return redirect(next_url)
        return redirect("core:home")
    return _form_page(request, "accounts/login.html", form)


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_request(email=form.cleaned_data["email"], client_ip=client_ip(request))
        except ServiceError as error:
            add_service_error(form, error)
            return _form_page(request, "accounts/password_reset.html", form, error)
        return render(request, "accounts/password_reset_sent.html", {"email": form.cleaned_data["email"].strip()})
    return _form_page(request, "accounts/password_reset.html", form)


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.password_reset_check(token=token)
    except ServiceError as error:
        return render(request, "accounts/verify_failed.html", {"error": error, "reset": True}, status=400)
    form = PasswordResetConfirmForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_confirm(token=token, new_password=form.cleaned_data["new_password"])
        except ServiceError as error:
            add_service_error(form, error)
            return _form_page(request, "accounts/password_reset_confirm.html", form, error)
        messages.success(request, _("Your password is changed. Log in with it."))
        return redirect("accounts:login")
    return _form_page(request, "accounts/password_reset_confirm.html", form)


@require_GET
@login_required
def me(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    context = {"now": timezone.localtime(), "blocked": blocked_usernames(user=user), "tokens": user_tokens(user=user)}
    return render(request, "accounts/me.html", context)


@require_POST
@login_required
def token_sign_out(request: HttpRequest, token_id: str) -> HttpResponse:
    """Sign an app out: its token stops working at once."""
    try:
        services.token_revoke(user=signed_in_user(request), token_id=token_id)
    except ServiceError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Signed out of that app."))
    return redirect("accounts:me")


@require_http_methods(["GET", "POST"])
@login_required
def settings_profile(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    initial = {
        "username": user.username,
        "timezone": user.timezone,
        "language": user.language,
        "sound_on": user.sound_on,
    }
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_update_profile(
                user=user,
                username=form.cleaned_data["username"],
                time_zone=form.cleaned_data["timezone"],
                language=form.cleaned_data["language"],
                sound_on=form.cleaned_data["sound_on"],
            )
        except ServiceError as error:
            user.refresh_from_db()
            add_service_error(form, error)
            return _form_page(request, "accounts/settings_profile.html", form, error)
        translation.activate(user.language)
        messages.success(request, _("Saved."))
        response = redirect("accounts:me")
        # The cookie keeps the language after signing out, on this browser.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            user.language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite="Lax",
            secure=settings.LANGUAGE_COOKIE_SECURE,
        )
        return response
    return _form_page(request, "accounts/settings_profile.html", form)


@require_http_methods(["GET", "POST"])
@login_required
def settings_email(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_email(
                user=user, new_email=form.cleaned_data["email"], password=form.cleaned_data["password"]
            )
        except ServiceError as error:
            add_service_error(form, error)
            return _form_page(request, "accounts/settings_email.html", form, error)
        messages.success(request, _("Check your new inbox: the change takes effect when you follow the link."))
        return redirect("accounts:me")
    return _form_page(request, "accounts/settings_email.html", form)


@require_http_methods(["GET", "POST"])
@login_required
def settings_password(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_password(
                user=user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except ServiceError as error:
            add_service_error(form, error)
            return _form_page(request, "accounts/settings_password.html", form, error)
        update_session_auth_hash(request, user)
        messages.success(request, _("Your password is changed."))
        return redirect("accounts:me")
    return _form_page(request, "accounts/settings_password.html", form)


@require_GET
@login_required
def export(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    data = account_export(user=user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="same-export-{stamp}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def delete_account(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    form = DeleteAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_delete(user=user, password=form.cleaned_data["password"])
        except ServiceError as error:
            add_service_error(form, error)
            return _form_page(request, "accounts/delete.html", form, error)
        auth_logout(request)
        return render(request, "accounts/deleted.html")
    return _form_page(request, "accounts/delete.html", form)
