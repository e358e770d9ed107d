from django.apps import AppConfig


class PunchesConfig(AppConfig):
    name = "punches"

    def ready(self) -> None:
        from . import demo  # noqa: F401  (registers the demo seeder)
