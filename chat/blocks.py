"""Blocking someone: they can no longer knock or message you, and your 1:1 conversations close."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound, ServiceError
from moderation.models import Block

from .events import announce_state
from .models import Conversation, ConversationState


@transaction.atomic
def block_create(*, blocker: User, username: str) -> Block:
    blocked = User.objects.filter(username__iexact=username.strip(), is_active=True).first()
    if blocked is None:
        raise NotFound(_("No such person."))
    if blocked.pk == blocker.pk:
        raise ServiceError("self_block", _("You can't block yourself."), field="username")
    block, _created = Block.objects.get_or_create(blocker=blocker, blocked=blocked)
    shared = Conversation.objects.filter(kind="direct", participants__user=blocker).filter(participants__user=blocked)
    closing = list(shared.exclude(state=ConversationState.CLOSED))
    Conversation.objects.filter(pk__in=[c.pk for c in closing]).update(state=ConversationState.CLOSED)

    def tell_the_blocker() -> None:
        # Only the blocker's own screens learn of it; the blocked person is not told.
        for conversation in closing:
            announce_state(conversation, "conversation.closed", to=[blocker])

    transaction.on_commit(tell_the_blocker)
    return block


@transaction.atomic
def block_remove(*, blocker: User, username: str) -> None:
    """Unblock. Closed conversations stay closed; a new knock may start a new one."""
    Block.objects.filter(blocker=blocker, blocked__username__iexact=username.strip()).delete()
