from django.apps import AppConfig


class PunchesConfig(AppConfig):
    name = "punches"

    def ready(self) -> None:
        from . import demo, export  # noqa: F401  (register the demo seeder, export sections and account-deletion steps)
