"""What a notification says. Only what the app's own chat list shows: never the message, never who sent it
(a direct conversation shows its other person's name in the app, but a lock screen is seen by others too)."""

from dataclasses import dataclass
from typing import Any

from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from accounts.models import User
from chat.models import Conversation, ConversationKind, ConversationState


@dataclass(frozen=True)
class Notification:
    title: str
    body: str
    url: str
    tag: str  # one per conversation: a newer notification replaces the older one on the phone

    def payload(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "tag": self.tag,
            "icon": static("icons/icon-192.png"),
        }


def new_message_notification(*, conversation: Conversation, recipient: User) -> Notification:
    """Worded in the recipient's language."""
    with translation.override(recipient.language):
        if conversation.kind == ConversationKind.GROUP:
            body = _("New message in %(group)s") % {"group": conversation.title}
        elif conversation.state == ConversationState.REQUEST:
            body = _("New message request")
        else:
            body = _("New message")
        return Notification(
            title="same",
            body=body,
            url=reverse("chat:conversation", args=[conversation.public_id]),
            tag=f"conversation-{conversation.public_id}",
        )
