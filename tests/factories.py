from typing import Any

import factory

from accounts.models import User

PASSWORD = "a calm river at dawn"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    email_verified = True
    password = factory.django.Password(PASSWORD)


def make_user(**fields: Any) -> User:
    """A saved person (typed, unlike the factory call)."""
    return UserFactory.create(**fields)
