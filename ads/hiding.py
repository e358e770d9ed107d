"""A person's "not today" for ads: a signed cookie on their own device, holding no id of any kind.

Nothing is stored on the server, and the cookie says only that ads are hidden; its age is checked
against the signature's timestamp, so editing its expiry changes nothing.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse

COOKIE = "same_ads_hidden"
SALT = "ads.hidden"
HIDE_SECONDS = 24 * 60 * 60


def ads_hidden(request: HttpRequest) -> bool:
    return request.get_signed_cookie(COOKIE, default=None, salt=SALT, max_age=HIDE_SECONDS) is not None


def hide_ads(response: HttpResponse) -> None:
    response.set_signed_cookie(
        COOKIE,
        "1",
        salt=SALT,
        max_age=HIDE_SECONDS,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
