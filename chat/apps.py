from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chat"

    def ready(self) -> None:
        from . import demo, lifecycle, realtime, reports  # noqa: F401  (demo chats, WebSocket frames, export, deletion, reports)
