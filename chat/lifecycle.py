"""Deleting an account takes the words, voice and photos of its messages along; conversations keep their numbering."""

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import ngettext

from accounts.deletion import register_deletion_note, register_deletion_step
from accounts.models import User
from accounts.selectors import register_export_section

from .attachments import delete_attachments
from .models import Message


@register_deletion_step
def blank_messages(user: User) -> None:
    """Words, voice and photos go; the numbered place in the conversation stays, marked deleted."""
    with_files = list(Message.objects.filter(sender=user).exclude(audio="", image="").only("audio", "image", "thumb"))
    Message.objects.filter(sender=user).update(
        text="",
        kind="deleted",
        audio="",
        audio_seconds=None,
        transcript="",
        transcript_status="",
        image="",
        thumb="",
        forwarded_post=None,
    )
    transaction.on_commit(lambda: delete_attachments(with_files))


@register_deletion_note
def messages_note(people: Sequence[User]) -> list[str]:
    count = Message.objects.filter(sender__in=people).exclude(kind__in=["deleted", "event"]).count()
    if not count:
        return []
    return [
        ngettext(
            "The words, voice and photo of the %(count)d message they sent are erased; its place in its conversation "
            "stays, marked deleted.",
            "The words, voices and photos of the %(count)d messages they sent are erased; their places in their "
            "conversations stay, marked deleted.",
            count,
        )
        % {"count": count}
    ]


@register_export_section("messages")
def messages_section(user: User) -> list[dict[str, Any]]:
    return [
        {
            "conversation": conversation,
            "seq": seq,
            "kind": kind,
            "text": text,
            **({"transcript": transcript} if transcript else {}),
            "at": at.isoformat(),
        }
        for conversation, seq, kind, text, transcript, at in Message.objects.filter(sender=user)
        .order_by("created_at")
        .values_list("conversation__public_id", "seq", "kind", "text", "transcript", "created_at")
    ]
