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


def make_channel(host: User | None = None, **fields: Any) -> "Channel":
    """A channel opened through the service, so its host is a member and counters are right."""
    from interests.services import channel_create

    values: dict[str, Any] = {
        "name": f"Channel {User.objects.count()}-{Channel.objects.count()}",
        "kind": "text",
        "category": "moods",
    }
    values.update(fields)
    return channel_create(host=host or make_user(), **values)


from interests.models import Channel  # noqa: E402  (after the user factory it builds on)
