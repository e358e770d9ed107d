"""What goes out over the WebSocket. Called only after the transaction committed: the database is the record,
the event a notification. Payloads carry usernames and opaque ids, never emails or row numbers."""

import json
from typing import Any

from django.urls import reverse

from accounts.models import User
from core.realtime import publish

from .models import Conversation, Message, Participant


def attachment_url(message: Message, part: str) -> str:
    return reverse("chat:attachment", args=[message.conversation.public_id, message.public_id, part])


def _forwarded(message: Message) -> dict[str, Any] | None:
    post = message.forwarded_post
    if message.kind != "post":
        return None
    if post is None or post.removed_at is not None:
        return {"id": None, "removed": True, "kind": None, "channel_id": None, "channel_name": None, "text": ""}
    return {
        "id": post.public_id,
        "removed": False,
        "kind": post.kind,
        "channel_id": post.channel.public_id,
        "channel_name": post.channel.name,
        "text": post.text[:280],
    }


def _sticker(message: Message) -> dict[str, Any] | None:
    if message.kind != "sticker":
        return None
    sticker = message.sticker
    if sticker is None:
        return {"id": None, "removed": True, "image_url": None, "audio_url": None, "caption": ""}
    return {
        "id": sticker.public_id,
        "removed": False,
        "image_url": sticker.image_url,
        "audio_url": sticker.audio_url,
        "caption": sticker.caption,
    }


def message_payload(message: Message) -> dict[str, Any]:
    """A message as every client sees it: over the WebSocket, in the API, in the page's script."""
    return {
        "id": message.public_id,
        "seq": message.seq,
        "sender": {"username": message.sender.username if message.sender else None},
        "kind": message.kind,
        "text": message.text,
        "sticker": _sticker(message),
        "audio_url": attachment_url(message, "audio") if message.audio else None,
        "audio_seconds": message.audio_seconds,
        "transcript": {"status": message.transcript_status, "text": message.transcript}
        if message.kind == "voice" and message.transcript_status
        else None,
        "image": {
            "url": attachment_url(message, "image"),
            "thumb_url": attachment_url(message, "thumb"),
            "width": message.width,
            "height": message.height,
        }
        if message.image
        else None,
        "post": _forwarded(message),
        "created_at": message.created_at.isoformat(),
        "client_id": message.client_id,
    }


def _send(public_ids: list[str], event: dict[str, Any]) -> None:
    """One event to each person's sockets: encoded once, handed to the event loop once, not waited for."""
    publish(public_ids, json.dumps(event))


def _listeners(conversation: Conversation) -> list[str]:
    """The public ids of the members who hear this conversation, read now: a member who left hears nothing more."""
    return list(
        Participant.objects.filter(conversation=conversation, ignored=False).values_list("user__public_id", flat=True)
    )


def announce_message(message: Message, listeners: list[str] | None = None) -> None:
    """After the commit: to `listeners` (public ids read under the conversation's lock with the write), else to
    the members read now."""
    conversation = message.conversation
    event = {
        "type": "message.new",
        "conversation_id": conversation.public_id,
        "seq": message.seq,
        "message": message_payload(message),
    }
    _send(listeners if listeners is not None else _listeners(conversation), event)


def announce_message_update(message: Message) -> None:
    """After the commit: a message changed (a voice message's transcript came); the whole message again, to the
    members read now."""
    conversation = message.conversation
    event = {
        "type": "message.updated",
        "conversation_id": conversation.public_id,
        "seq": message.seq,
        "message": message_payload(message),
    }
    _send(_listeners(conversation), event)


def announce_state(
    conversation: Conversation, kind: str, *, to: list[User] | None = None, extra: dict[str, Any] | None = None
) -> None:
    event = {"type": kind, "conversation_id": conversation.public_id, **(extra or {})}
    _send([user.public_id for user in to] if to is not None else _listeners(conversation), event)
