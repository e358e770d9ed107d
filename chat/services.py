"""Writes on chat: knock on a post's author, accept or ignore, send — each message stored, then announced."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.newcomers import is_new_account
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from core.ratelimit import rate_limit_hit
from moderation.blocks import is_blocked_between
from posts.models import Post
from push.tasks import notify_new_message

from .events import announce_message, announce_state
from .models import Conversation, ConversationKind, ConversationState, Message, Participant

TEXT_MAX = 2000
CLIENT_ID_MAX = 64
REQUEST_MESSAGE_LIMIT = 3


@dataclass(frozen=True)
class Sent:
    message: Message
    created: bool  # False: a resend with a client_id already used; nothing new was written


def conversation_for_participant(*, user: User, conversation_id: str) -> Conversation:
    """The conversation, if this person is in it. Anyone else gets 404, so ids can't be probed."""
    conversation = Conversation.objects.filter(public_id=conversation_id, participants__user=user).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    return conversation


def _clean_text(text: str) -> str:
    clean = text.strip()
    if not clean:
        raise ValidationFailed({"text": [_("Write something first.")]})
    if len(clean) > TEXT_MAX:
        raise ValidationFailed({"text": [_("A message has at most 2,000 characters.")]})
    return clean


def _clean_client_id(client_id: str) -> str:
    clean = client_id.strip()
    if not clean or len(clean) > CLIENT_ID_MAX:
        raise ValidationFailed({"client_id": [_("Send a client_id of 1 to 64 characters.")]})
    return clean


def _write(*, conversation: Conversation, sender: User, client_id: str, fields: dict[str, Any]) -> Sent:
    """Store one message with the next number. Precondition: inside a transaction."""
    existing = Message.objects.filter(sender=sender, client_id=client_id).first()
    if existing is not None:
        return Sent(message=existing, created=False)
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                conversation=locked, seq=locked.next_seq, sender=sender, client_id=client_id, created_at=now, **fields
            )
    except IntegrityError:
        # The same client_id raced in from another tab: answer with the message that won.
        return Sent(message=Message.objects.get(sender=sender, client_id=client_id), created=False)
    Conversation.objects.filter(pk=locked.pk).update(next_seq=locked.next_seq + 1, last_message_at=now)
    Participant.objects.filter(conversation=locked, user=sender).update(last_read_seq=message.seq)
    transaction.on_commit(lambda: announce_message(message))
    transaction.on_commit(lambda: notify_new_message(message))
    return Sent(message=message, created=True)


def conversation_knock(*, sender: User, post: Post, text: str, client_id: str) -> tuple[Conversation, Sent]:
    """Approach a post's author privately. The knock is the first message of a request."""
    clean_text = _clean_text(text)
    clean_client_id = _clean_client_id(client_id)
    author = post.author
    if author.pk == sender.pk:
        raise ServiceError("own_post", _("This is your own post."))
    if not author.is_active:
        raise NotFound(_("No such post."))
    if is_blocked_between(sender, author):
        raise PermissionDenied("blocked", _("You can't reach this person."))
    ensure_not_suspended(sender)
    rate_limit_hit(scope="knock_account", key=sender.public_id)
    if is_new_account(sender):
        rate_limit_hit(scope="knock_new_account", key=sender.public_id)
    with transaction.atomic():
        existing = (
            Conversation.objects.filter(kind="direct", participants__user=sender)
            .filter(participants__user=author)
            .exclude(state=ConversationState.CLOSED)
            .first()
        )
        if existing is not None:
            return existing, _send_checked(
                conversation=existing, sender=sender, client_id=clean_client_id, fields={"text": clean_text}
            )
        conversation = Conversation.objects.create(origin_post=post, started_by=sender)
        Participant.objects.bulk_create(
            [Participant(conversation=conversation, user=sender), Participant(conversation=conversation, user=author)]
        )
        sent = _write(conversation=conversation, sender=sender, client_id=clean_client_id, fields={"text": clean_text})
        transaction.on_commit(lambda: announce_state(conversation, "conversation.request", to=[author]))
    return conversation, sent


def _send_checked(*, conversation: Conversation, sender: User, client_id: str, fields: dict[str, Any]) -> Sent:
    """The rules every message obeys. Precondition: inside a transaction."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if not Participant.objects.filter(conversation=locked, user=sender).exists():
        raise NotFound(_("No such conversation."))  # removed or left a moment ago
    if locked.state == ConversationState.CLOSED:
        raise PermissionDenied("conversation_closed", _("This conversation is closed."))
    if locked.kind == ConversationKind.GROUP:
        return _write(conversation=locked, sender=sender, client_id=client_id, fields=fields)
    others = [
        p.user for p in Participant.objects.filter(conversation=locked).exclude(user=sender).select_related("user")
    ]
    if any(is_blocked_between(sender, other) for other in others):
        raise PermissionDenied("blocked", _("You can't reach this person."))
    if locked.state == ConversationState.REQUEST:
        if locked.started_by_id == sender.pk:
            if Message.objects.filter(sender=sender, client_id=client_id).exists():
                return _write(conversation=locked, sender=sender, client_id=client_id, fields=fields)
            sent_so_far = Message.objects.filter(conversation=locked, sender=sender).count()
            if sent_so_far >= REQUEST_MESSAGE_LIMIT:
                raise PermissionDenied(
                    "awaiting_acceptance", _("Wait until they accept: until then you can send 3 messages in all.")
                )
        else:
            # The author answering is accepting.
            locked.state = ConversationState.ACTIVE
            locked.save(update_fields=["state"])
    return _write(conversation=locked, sender=sender, client_id=client_id, fields=fields)


def message_send(*, sender: User, conversation: Conversation, text: str, client_id: str) -> Sent:
    clean_text = _clean_text(text)
    clean_client_id = _clean_client_id(client_id)
    check_message_rate(sender)
    with transaction.atomic():
        return _send_checked(
            conversation=conversation, sender=sender, client_id=clean_client_id, fields={"text": clean_text}
        )


def message_send_with(
    *, sender: User, conversation: Conversation, client_id: str, fields: dict[str, Any], on_failure: Callable[[], None]
) -> Sent:
    """Send a message whose attachment is already stored; `on_failure` removes it if nothing was written."""
    try:
        with transaction.atomic():
            sent = _send_checked(conversation=conversation, sender=sender, client_id=client_id, fields=fields)
    except BaseException:
        on_failure()
        raise
    if not sent.created:
        on_failure()  # a resend: the first message keeps its own attachment
    return sent


def check_message_rate(sender: User) -> None:
    """Messages per account; a new account (its first day) gets a smaller allowance. A suspended person sends none."""
    ensure_not_suspended(sender)
    rate_limit_hit(scope="message_account", key=sender.public_id)
    if is_new_account(sender):
        rate_limit_hit(scope="message_new_account", key=sender.public_id)


def _as_recipient(user: User, conversation: Conversation) -> Conversation:
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if locked.kind != ConversationKind.DIRECT:
        raise ServiceError("not_a_request", _("Only a request can be accepted or ignored."), status=409)
    if locked.started_by_id == user.pk:
        raise PermissionDenied("not_recipient", _("Only the person who was approached can answer a request."))
    return locked


@transaction.atomic
def conversation_accept(*, user: User, conversation: Conversation) -> Conversation:
    locked = _as_recipient(user, conversation)
    if locked.state == ConversationState.REQUEST:
        locked.state = ConversationState.ACTIVE
        locked.save(update_fields=["state"])
        Participant.objects.filter(conversation=locked, user=user).update(ignored=False)
        transaction.on_commit(lambda: announce_state(locked, "conversation.accepted"))
    return locked


@transaction.atomic
def conversation_ignore(*, user: User, conversation: Conversation) -> Conversation:
    """Hide a request. The knocker is not told; they may still use what is left of their 3 messages."""
    locked = _as_recipient(user, conversation)
    if locked.state != ConversationState.REQUEST:
        raise ServiceError("not_a_request", _("Only a request can be ignored."), status=409)
    Participant.objects.filter(conversation=locked, user=user).update(ignored=True)
    return locked


@transaction.atomic
def conversation_read(*, user: User, conversation: Conversation, seq: int) -> int:
    """Mark messages up to `seq` read; the others see "read" under their last message."""
    top = conversation.next_seq - 1
    if seq < 0 or seq > top:
        raise ValidationFailed({"seq": [_("No message has that number.")]})
    updated = Participant.objects.filter(conversation=conversation, user=user, last_read_seq__lt=seq).update(
        last_read_seq=seq
    )
    if updated:
        transaction.on_commit(
            lambda: announce_state(conversation, "read", extra={"seq": seq, "username": user.username})
        )
    return seq
