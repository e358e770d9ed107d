from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .models import User
from .usernames import username_key


def user_by_login(login: str) -> User | None:
    """The person a login names: an email if it has an @, otherwise a username."""
    login = login.strip()
    if not login:
        return None
    if "@" in login:
        return User.objects.filter(email__iexact=login).first()
    return User.objects.filter(username_key=username_key(login)).first()


class EmailOrUsernameBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if username is None or password is None:
            return None
        user = user_by_login(username)
        if user is None:
            # Hash anyway, so an unknown login costs as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
