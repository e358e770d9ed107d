from django.apps import AppConfig


class StickersConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "stickers"

    def ready(self) -> None:
        from . import lifecycle  # noqa: F401  (export sections and account-deletion steps)
