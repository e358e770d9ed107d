"""A new account (its first day) speaks more slowly: fewer posts, knocks and messages per hour."""

from datetime import timedelta

from django.utils import timezone

from .models import User

NEW_ACCOUNT_AGE = timedelta(days=1)


def is_new_account(user: User) -> bool:
    return user.date_joined > timezone.now() - NEW_ACCOUNT_AGE
