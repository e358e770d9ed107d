"""Reporting a private message: only someone in its conversation can, and only operators see it — each reading
of it logged (moderation.operators.reported_message_read)."""

from accounts.models import User
from moderation.models import ReportTarget
from moderation.targets import ReportedThing, register_target

from .models import Message, MessageKind


def _thing(message: Message) -> ReportedThing:
    if message.kind == MessageKind.TEXT:
        summary = message.text
    else:
        summary = f"[{message.get_kind_display()}] {message.text}".strip()
    return ReportedThing(summary=summary, author=message.sender, private=True, obj=message)


def _for_reporter(reporter: User, message_id: str) -> ReportedThing | None:
    message = (
        Message.objects.select_related("sender")
        .filter(public_id=message_id, conversation__participants__user=reporter)
        .exclude(sender=reporter)
        .first()
    )
    return _thing(message) if message else None


def _for_operator(message_id: str) -> ReportedThing | None:
    message = Message.objects.select_related("sender").filter(public_id=message_id).first()
    return _thing(message) if message else None


register_target(ReportTarget.MESSAGE, resolve=_for_reporter, load=_for_operator)
