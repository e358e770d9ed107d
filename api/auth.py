from typing import Any, cast

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from accounts.middleware import activate_preferences
from accounts.models import User
from accounts.services import token_authenticate


class BearerToken(HttpBearer):
    """Apps send `Authorization: Bearer <token>`; tokens never travel in URLs."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        return self.signed_in(request, token_authenticate(secret=token))

    @staticmethod
    def signed_in(request: HttpRequest, user: User | None) -> User | None:
        """The request's person, once the token named them (None: no one)."""
        if user is not None:
            request.user = user
            # The session's person got theirs from the middleware; an app's person gets theirs here,
            # so every message in the answer is in their language.
            activate_preferences(request, user)
        return user


# The web UI's session cookie works too; ninja then checks the CSRF token like a form would.
session = SessionAuth(csrf=True)
bearer = BearerToken()
AUTH = [bearer, session]


def api_user(request: HttpRequest) -> User:
    """The person an authenticated operation runs for (ninja puts them in request.auth)."""
    return cast(User, request.auth)  # type: ignore[attr-defined]  # set by ninja on authenticated operations
