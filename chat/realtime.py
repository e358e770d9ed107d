"""Chat's WebSocket frames: `send` (a message, as the API's POST …/messages stores it), `resume` after a
reconnect (answered in batches, chat/catchup.py), and `typing`; and what chat adds to `resync`."""

from typing import Any

from channels.db import database_sync_to_async
from django.db import connection
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, ServiceError
from core.ratelimit import rate_limit_hit
from core.realtime import Credential, register_frame, register_resync

from . import loop_send, services
from .attachments import message_send_without_file
from .catchup import TOO_FAR, resume_frames, resync_fields
from .events import announce_message, announce_state
from .services import conversation_for_participant

register_resync(resync_fields)


def _conversation_id(content: dict[str, Any]) -> str:
    value = content.get("conversation_id")
    if not isinstance(value, str) or not value:
        raise ServiceError("bad_frame", _("Say which conversation: conversation_id."))
    return value


@register_frame("resume")
async def resume(user: User, content: dict[str, Any], credential: Credential) -> list[str]:
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
async def typing(user: User, content: dict[str, Any], credential: Credential) -> list[dict[str, Any]]:
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


def _optional_string(content: dict[str, Any], name: str) -> str:
    value = content.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ServiceError("invalid", _("`%(name)s` is a string.") % {"name": name}, field=name)
    return value


@register_frame("send")
async def send(user: User, content: dict[str, Any], credential: Credential) -> list[str]:
    """A message over the socket a client already holds: `{"type": "send", "conversation_id", "client_id",
    "text"}` (or `sticker_id`, or `post_id` with `text` as a comment). Stored and announced exactly as the API's
    `POST /conversations/{id}/messages` does — every rule, the rate limits, `client_id`'s resend answering the
    first message — and answered on this socket with `{"type": "sent", "created", "message"}`, or an `error`
    frame carrying the `client_id`. Files (voice, photos) go through the API."""
    conversation_id = _conversation_id(content)
    text, client_id = _optional_string(content, "text"), _optional_string(content, "client_id")
    sticker_id, post_id = _optional_string(content, "sticker_id"), _optional_string(content, "post_id")

    outcome = loop_send.Outcome.NOT_TRIED
    if not sticker_id and not post_id:  # a text: the fast paths
        sent_here = await loop_send.send_text(
            credential=credential, sender=user, conversation_id=conversation_id, text=text, client_id=client_id
        )
        if isinstance(sent_here, services.Sent):
            return [loop_send.sent_frame(sent_here)]
        outcome = sent_here

    def write() -> str:
        if not sticker_id and not post_id:
            sent = services.message_send_from_socket(
                credential=credential,
                sender=user,
                conversation_id=conversation_id,
                text=text,
                client_id=client_id,
                by_hand=outcome in {loop_send.Outcome.REFUSED, loop_send.Outcome.BROKE},
            )
            if outcome is loop_send.Outcome.BROKE and not sent.created:  # stored by the loop, maybe never announced
                announce_message(sent.message)
        else:
            sender, conversation = services.socket_sender(
                token_digest=credential.token_digest,
                session_key=credential.session_key,
                conversation_id=conversation_id,
            )
            sent = message_send_without_file(
                sender=sender,
                conversation=conversation,
                client_id=client_id,
                text=text,
                sticker_id=sticker_id,
                post_id=post_id,
            )
        return loop_send.sent_frame(sent)

    def write_and_close() -> str:
        try:
            return write()
        finally:
            connection.close()  # back to the pool, as an HTTP request's connection goes when it finishes

    # In a thread of its own rather than the one consumers share: sends from many sockets run side by side, as
    # the API's do in the HTTP threads.
    return [await database_sync_to_async(write_and_close, thread_sensitive=False)()]
