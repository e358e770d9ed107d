from django.apps import AppConfig


class AdsConfig(AppConfig):
    name = "ads"
    verbose_name = "House ads"

    def ready(self) -> None:
        from . import demo  # noqa: F401  (register the demo seeder)
