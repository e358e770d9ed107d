from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        from . import lifecycle, realtime  # noqa: F401  (WebSocket frames, export and account-deletion steps)
