"""Deleting an account takes the words of its messages along; the conversation keeps its numbering."""

from typing import Any

from accounts.deletion import register_deletion_step
from accounts.models import User
from accounts.selectors import register_export_section

from .models import Message


@register_deletion_step
def blank_messages(user: User) -> None:
    Message.objects.filter(sender=user).update(text="", kind="deleted")


@register_export_section("messages")
def messages_section(user: User) -> list[dict[str, Any]]:
    return [
        {"conversation": conversation, "seq": seq, "text": text, "at": at.isoformat()}
        for conversation, seq, text, at in Message.objects.filter(sender=user)
        .order_by("created_at")
        .values_list("conversation__public_id", "seq", "text", "created_at")
    ]
