"""Chat's WebSocket frames: `resume` after a reconnect, and `typing`."""

from typing import Any

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.suspension import ensure_not_suspended
from core.errors import ServiceError
from core.ratelimit import rate_limit_hit
from core.realtime import register_frame

from .events import announce_state, message_payload
from .selectors import messages_after
from .services import conversation_for_participant

RESUME_LIMIT = 500


def _conversation_id(content: dict[str, Any]) -> str:
    value = content.get("conversation_id")
    if not isinstance(value, str) or not value:
        raise ServiceError("bad_frame", _("Say which conversation: conversation_id."))
    return value


@register_frame("resume")
async def resume(user: User, content: dict[str, Any]) -> list[dict[str, Any]]:
    """Everything after `after` in one conversation, in order, each once."""
    after = content.get("after")
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ServiceError("invalid_after", _("`after` is the last sequence number you hold: 0 or more."))

    def missed() -> list[dict[str, Any]]:
        conversation = conversation_for_participant(user=user, conversation_id=_conversation_id(content))
        if after > conversation.next_seq - 1:
            raise ServiceError("invalid_after", _("No message has that number yet."))
        messages = messages_after(conversation=conversation, after=after, limit=RESUME_LIMIT)
        return [
            {
                "type": "message.new",
                "conversation_id": conversation.public_id,
                "seq": m.seq,
                "message": message_payload(m),
            }
            for m in messages
        ]

    # Not thread-sensitive: every socket of this process would otherwise wait for one thread, and after a
    # `resync` (docs/websocket.md) all of them resume at once.
    events: list[dict[str, Any]] = await database_sync_to_async(missed, thread_sensitive=False)()
    return events


@register_frame("typing")
async def typing(user: User, content: dict[str, Any]) -> list[dict[str, Any]]:
    def tell() -> None:
        conversation = conversation_for_participant(user=user, conversation_id=_conversation_id(content))
        ensure_not_suspended(user)
        rate_limit_hit(scope="typing_account", key=user.public_id)
        others = [
            p.user for p in conversation.participants.select_related("user").exclude(user=user).filter(ignored=False)
        ]
        announce_state(conversation, "typing", to=others, extra={"username": user.username})

    await database_sync_to_async(tell)()
    return []
