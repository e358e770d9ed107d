"""The session cookie: a late answer to an old cookie must not sign the person out of their new session.

Signing in gives a new session key (Django's `cycle_key`) and deletes the old session. A request the browser sent
with the old cookie just before — the service worker fetching `/offline` or `/sw.js` in the background, a second tab,
a slow image behind a view — finds no session for its key. Django's SessionMiddleware then answers it with an
expired cookie, and when that answer arrives after the sign-in's, the browser drops the *new* session's cookie: the
person, signed in a moment ago, is on the login page at their next tap.

Here an old cookie is left alone: a request that found no session for its key and changed nothing sets no cookie.
Signing out still clears the cookie (the session was found, then flushed: modified), and a dead cookie costs one
lookup per request until the next sign-in replaces it or it expires.
"""

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers


class SessionMiddleware(DjangoSessionMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if (
            session is not None
            and settings.SESSION_COOKIE_NAME in request.COOKIES
            and not session.modified
            and session.is_empty()
        ):
            # The key named no live session and this request stored nothing: whatever the browser holds now
            # (perhaps a newer session's key) is not this answer's to delete.
            if session.accessed:
                patch_vary_headers(response, ("Cookie",))
            return response
        return super().process_response(request, response)
