from django.apps import AppConfig


class PostsConfig(AppConfig):
    name = "posts"

    def ready(self) -> None:
        from . import demo, lifecycle  # noqa: F401  (register the demo seeder and account-deletion hooks)
