"""Chat's WebSocket frames: `resume` after a reconnect (answered in batches, chat/catchup.py), and `typing`;
and what chat adds to `resync`."""

from typing import Any

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, ServiceError
from core.ratelimit import rate_limit_hit
from core.realtime import register_frame, register_resync

from .catchup import TOO_FAR, resume_frames, resync_fields
from .events import announce_state
from .services import conversation_for_participant

register_resync(resync_fields)


def _conversation_id(content: dict[str, Any]) -> str:
    value = content.get("conversation_id")
    if not isinstance(value, str) or not value:
        raise ServiceError("bad_frame", _("Say which conversation: conversation_id."))
    return value


@register_frame("resume")
async def resume(user: User, content: dict[str, Any]) -> list[str]:
    """Everything after `after` in one conversation, in order, each once, then `resume.done`."""
    after = content.get("after")
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        raise ServiceError("invalid_after", _("`after` is the last sequence number you hold: 0 or more."))
    answer = await resume_frames(user_id=user.pk, conversation_id=_conversation_id(content), after=after)
    if isinstance(answer, list):
        return answer
    if answer == TOO_FAR:
        raise ServiceError("invalid_after", _("No message has that number yet."))
    raise NotFound(_("No such conversation."))  # NOT_FOUND: the same answer whether it exists or not


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
