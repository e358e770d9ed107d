"""Web forms: they render fields and carry errors; the rules live in accounts.services."""

import zoneinfo
from functools import lru_cache

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _
from django_stubs_ext import StrOrPromise

from .usernames import MAX_LENGTH as USERNAME_MAX


@lru_cache(maxsize=1)
def timezone_choices() -> list[tuple[str, str]]:
    names = sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")
    return [(name, name.replace("_", " ")) for name in names]


def new_password_field(label: StrOrPromise) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=256,
        strip=False,
        help_text=_("At least 8 characters."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


def current_password_field(label: StrOrPromise) -> forms.CharField:
    return forms.CharField(
        label=label, max_length=256, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class SignupForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    username = forms.CharField(
        label=_("Username"),
        max_length=USERNAME_MAX + 10,
        help_text=_("What others see. Letters, digits and _."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=256,
        strip=False,
        help_text=_("At least 8 characters."),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    timezone = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-detect-timezone": ""}))


class LoginForm(forms.Form):
    login = forms.CharField(
        label=_("Email or username"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = forms.CharField(
        label=_("Password"),
        max_length=256,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordResetRequestForm(forms.Form):
    email = forms.CharField(label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class PasswordResetConfirmForm(forms.Form):
    new_password = new_password_field(_("New password"))


def language_choices() -> list[tuple[str, str]]:
    return [(code, str(get_language_info(code)["name_local"])) for code, _name in settings.LANGUAGES]


class ProfileForm(forms.Form):
    username = forms.CharField(
        label=_("Username"),
        max_length=USERNAME_MAX + 10,
        widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"}),
    )
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=timezone_choices,
        help_text=_("Your days, and daily punch-ins, follow this clock."),
    )
    # Each language is named in itself, so a person who landed in the wrong one can still find theirs.
    language = forms.ChoiceField(label=_("Language"), choices=language_choices)
    sound_on = forms.BooleanField(
        label=_("Play the song when I punch in"),
        required=False,
        help_text=_("Off: you see the song and a play button."),
    )


class EmailChangeForm(forms.Form):
    email = forms.CharField(
        label=_("New email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    password = current_password_field(_("Your password"))


class PasswordChangeForm(forms.Form):
    old_password = current_password_field(_("Current password"))
    new_password = new_password_field(_("New password"))


class DeleteAccountForm(forms.Form):
    password = current_password_field(_("Your password"))
