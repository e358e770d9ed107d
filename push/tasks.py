"""Notifications go out from the task worker, never from the request that sent the message."""

from django.tasks import task

from chat.models import Message, MessageKind, Participant

from .models import PushSubscription
from .notifications import new_message_notification

SILENT_KINDS = {MessageKind.EVENT, MessageKind.DELETED}  # "ana joined" is written by the server, not a person


def _recipients(message: Message, sender_id: int) -> list[Participant]:
    """Members who hear of this message: not its sender, not who muted the conversation or ignored the request."""
    return list(
        Participant.objects.filter(conversation_id=message.conversation_id, muted=False, ignored=False)
        .exclude(user_id=sender_id)
        .filter(user__is_active=True)
        .select_related("user")
    )


def notify_new_message(message: Message, *, listening: bool | None = None) -> None:
    """Called after the message's transaction committed: queue the notifications, if anyone will get one.

    `listening`: whether anyone but the sender has a subscription and neither muted the conversation nor ignored
    it, when the caller read it with the members; otherwise one query finds out (most conversations: nobody)."""
    sender_id = message.sender_id
    if message.kind in SILENT_KINDS or sender_id is None:
        return
    if listening is None:
        listening = (
            PushSubscription.objects.filter(
                user__conversations__conversation_id=message.conversation_id,
                user__conversations__muted=False,
                user__conversations__ignored=False,
            )
            .exclude(user_id=sender_id)
            .exists()
        )
    if listening:
        send_message_notifications.enqueue(message_id=message.public_id)


@task()
def send_message_notifications(*, message_id: str) -> None:
    message = Message.objects.select_related("conversation").filter(public_id=message_id).first()
    if message is None or message.kind in SILENT_KINDS or message.sender_id is None:
        return
    from .delivery import deliver  # pywebpush pulls in requests and aiohttp: only the worker needs them

    conversation = message.conversation
    recipients = {participant.user_id: participant.user for participant in _recipients(message, message.sender_id)}
    if not recipients:
        return
    for subscription in PushSubscription.objects.filter(user_id__in=recipients).order_by("pk"):
        notification = new_message_notification(conversation=conversation, recipient=recipients[subscription.user_id])
        deliver(subscription, notification.payload(), topic=f"c{conversation.public_id}")
