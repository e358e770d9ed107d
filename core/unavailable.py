"""While the database is away: a clear 503 with Retry-After, never a 500 and never a false "sent".

A request that cannot reach PostgreSQL (the pool waits DATABASE_POOL_TIMEOUT seconds for a connection, then
gives up) raises django.db.OperationalError or InterfaceError. Its transaction did not commit, so nothing
was written and nothing announced; the API answers {"code": "unavailable", ...} and the web a page that
says to try again. The pool drops broken connections (its `check` runs on every checkout) and opens new
ones by itself once the database is back.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views import defaults

RETRY_AFTER = 5  # seconds


def is_outage(error: BaseException | None) -> bool:
    """The database could not be reached or dropped the connection (not a bad query, not a constraint)."""
    return isinstance(error, OperationalError | InterfaceError)


def unavailable_json() -> HttpResponse:
    response = JsonResponse(
        {
            "code": "unavailable",
            "message": _("The service is briefly unavailable. Try again in a moment."),
            "fields": {},
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def unavailable_page() -> HttpResponse:
    # Rendered without the request: its context processors would read the session and the user from the database.
    html = loader.get_template("core/unavailable.html").render({"retry_after": RETRY_AFTER})
    response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER)
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: an error the views did not catch. A database outage anywhere (a middleware reading the
    session, a view) answers 503; anything else, Django's own 500."""
    if is_outage(sys.exc_info()[1]):
        return unavailable_json() if request.path.startswith("/api/") else unavailable_page()
    return defaults.server_error(request, template_name)
