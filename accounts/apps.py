from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            demo,  # noqa: F401  (registers the demo seeder)
            signouts,  # noqa: F401  (a sign-out from a page closes its sockets)
        )
