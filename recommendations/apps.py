from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "recommendations"

    def ready(self) -> None:
        from . import demo, lifecycle  # noqa: F401  (the demo seeder, export section and account-deletion step)
