from django.apps import AppConfig


class InterestsConfig(AppConfig):
    name = "interests"
    verbose_name = "Channels"

    def ready(self) -> None:
        from . import demo, export, lifecycle  # noqa: F401  (register the demo seeder, export sections and account-deletion steps)
