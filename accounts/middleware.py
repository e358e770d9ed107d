import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation

from .models import User


def activate_preferences(request: HttpRequest, user: User) -> None:
    """Pages and API answers for a signed-in person: their own clock, and their own language.

    Before sign-in the language follows the language cookie, then the browser's Accept-Language
    (Django's LocaleMiddleware); once a person is known, their setting wins.
    """
    try:
        timezone.activate(zoneinfo.ZoneInfo(user.timezone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()
    if user.language in dict(settings.LANGUAGES):
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language


class PreferencesMiddleware:
    """Show a signed-in person pages in their own language and time zone."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and user.is_authenticated:
            activate_preferences(request, user)
        else:
            timezone.deactivate()
        response = self.get_response(request)
        timezone.deactivate()
        return response
