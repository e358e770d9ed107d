"""Group chats: made by anyone, joined by an invite link or from a channel, up to 200 people.

The owner (and the admins they name) share and revoke invite links and remove members; anyone can leave
or mute. A member who leaves or is removed loses the conversation at once: their row is deleted, so every
read, send, typing frame and event checks membership against nothing. Joins, leaves and removals are
written into the conversation as `event` messages, numbered like any other, so everyone sees them live.
"""

import secrets
import unicodedata
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User, new_public_id
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from core.pagination import Page, keyset_page
from core.ratelimit import rate_limit_hit
from interests.models import Channel, Membership
from moderation.blocks import is_blocked_between
from moderation.models import Block
from posts.stored_images import stored_image

from .events import announce_state
from .models import (
    GROUP_MAX_MEMBERS,
    INVITE_DAYS,
    Conversation,
    ConversationKind,
    ConversationState,
    Invite,
    MessageKind,
    Participant,
    Role,
)
from .services import Sent, _write

TITLE_MAX = 80
MANAGERS = (Role.OWNER, Role.ADMIN)


def _clean_title(raw: str) -> str:
    title = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not title:
        raise ValidationFailed({"title": [_("Give the group a name.")]})
    if len(title) > TITLE_MAX:
        raise ValidationFailed({"title": [_("A group's name has at most 80 characters.")]})
    return title


def _event(conversation: Conversation, user: User, what: str) -> Sent:
    """Write "ana joined" (or left, was removed…) into the conversation. Precondition: in a transaction."""
    return _write(
        conversation=conversation,
        sender=user,
        client_id=f"event-{new_public_id()}",
        fields={"kind": MessageKind.EVENT, "text": what},
    )


def _member(user: User, conversation: Conversation) -> Participant:
    participant = Participant.objects.filter(conversation=conversation, user=user).first()
    if participant is None:
        raise NotFound(_("No such conversation."))
    return participant


def _group(conversation: Conversation) -> Conversation:
    if conversation.kind != ConversationKind.GROUP:
        raise ServiceError("not_a_group", _("Only a group chat has members to manage."), status=409)
    return conversation


def _manager(user: User, conversation: Conversation) -> Participant:
    participant = _member(user, _group(conversation))
    if participant.role not in MANAGERS:
        raise PermissionDenied("not_group_admin", _("Only the group's owner and admins can do this."))
    return participant


def group_create(
    *, owner: User, title: str, cover: UploadedFile[bytes] | None = None, channel: Channel | None = None
) -> Conversation:
    clean_title = _clean_title(title)
    ensure_not_suspended(owner)
    rate_limit_hit(scope="group_create_account", key=owner.public_id)
    with stored_image(cover, field="cover") as stored, transaction.atomic():
        conversation = Conversation.objects.create(
            kind=ConversationKind.GROUP,
            state=ConversationState.ACTIVE,
            title=clean_title,
            cover=stored.thumb_name if stored else "",
            channel=channel,
            started_by=owner,
        )
        Participant.objects.create(conversation=conversation, user=owner, role=Role.OWNER)
        _event(conversation, owner, "created")
    return conversation


def group_rename(*, user: User, conversation: Conversation, title: str) -> Conversation:
    _manager(user, conversation)
    conversation.title = _clean_title(title)
    conversation.save(update_fields=["title"])
    return conversation


def _join(user: User, conversation: Conversation) -> Conversation:
    """Add a person to a group (or do nothing if they are in). Precondition: inside a transaction."""
    locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
    if Participant.objects.filter(conversation=locked, user=user).exists():
        return locked
    if locked.state == ConversationState.CLOSED:
        raise PermissionDenied("conversation_closed", _("This group has closed."))
    if Participant.objects.filter(conversation=locked).count() >= GROUP_MAX_MEMBERS:
        raise PermissionDenied("group_full", _("This group is full: a group has at most 200 people."))
    Participant.objects.create(conversation=locked, user=user, last_read_seq=locked.next_seq - 1)
    _event(locked, user, "joined")
    return locked


# --- invite links --------------------------------------------------------------------------------------------


def invite_create_allowed(*, user: User, conversation: Conversation) -> None:
    """Raise unless this person may share and see the group's invite links."""
    _manager(user, conversation)


def invite_create(*, user: User, conversation: Conversation, days: int = 7) -> Invite:
    _manager(user, conversation)
    if days not in INVITE_DAYS:
        raise ValidationFailed({"days": [_("An invite lasts 1, 7 or 30 days.")]})
    return Invite.objects.create(
        conversation=conversation,
        code=secrets.token_urlsafe(12),
        created_by=user,
        expires_at=timezone.now() + timedelta(days=days),
    )


def invite_revoke(*, user: User, conversation: Conversation, code: str) -> Invite:
    _manager(user, conversation)
    invite = Invite.objects.filter(conversation=conversation, code=code).first()
    if invite is None:
        raise NotFound(_("No such invite."))
    if invite.revoked_at is None:
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at"])
    return invite


def open_invites_page(*, conversation: Conversation, cursor: str | None = None, size: int = 50) -> Page[Invite]:
    """The group's open invite links, newest first, a page at a time."""
    live = Invite.objects.filter(conversation=conversation, revoked_at__isnull=True, expires_at__gt=timezone.now())
    return keyset_page(live, order=("created_at", "code"), cursor=cursor, size=size)


def open_invites(*, conversation: Conversation) -> list[Invite]:
    now = timezone.now()
    return list(
        Invite.objects.filter(conversation=conversation, revoked_at__isnull=True, expires_at__gt=now).order_by(
            "-created_at"
        )
    )


def invite_get(*, code: str, viewer: User) -> Invite:
    """An invite that can still be used; an expired or revoked one says so (410). To someone the group's
    owner, an admin or the invite's maker has blocked, the link doesn't exist: blocked people can't reach them."""
    invite = Invite.objects.select_related("conversation").filter(code=code).first()
    if invite is None or invite.conversation.state == ConversationState.CLOSED:
        raise NotFound(_("This invite link doesn't exist."))
    if _blocked_by_the_group(invite, viewer):
        raise NotFound(_("This invite link doesn't exist."))
    if invite.revoked_at is not None:
        raise ServiceError("invite_revoked", _("This invite link was turned off by the group."), status=410)
    if invite.expires_at <= timezone.now():
        raise ServiceError("invite_expired", _("This invite link has expired. Ask for a new one."), status=410)
    return invite


def _blocked_by_the_group(invite: Invite, viewer: User) -> bool:
    managers = Participant.objects.filter(conversation=invite.conversation_id, role__in=MANAGERS).values("user")
    blockers = Block.objects.filter(blocked=viewer).filter(Q(blocker__in=managers) | Q(blocker=invite.created_by_id))
    return blockers.exists()


def group_join_by_invite(*, user: User, code: str) -> Conversation:
    rate_limit_hit(scope="invite_join_account", key=user.public_id)
    with transaction.atomic():
        invite = invite_get(code=code, viewer=user)
        return _join(user, invite.conversation)


def invite_preview_names(*, invite: Invite, viewer: User, limit: int = 8) -> list[str]:
    """A few members' names for the invite page — never anyone who blocked the viewer, or whom they blocked."""
    names = []
    for participant in invite.conversation.participants.select_related("user").order_by("joined_at")[:50]:
        if not is_blocked_between(viewer, participant.user):
            names.append(participant.user.username)
        if len(names) >= limit:
            break
    return names


# --- a channel's group chat ----------------------------------------------------------------------------------


def channel_group(*, channel: Channel) -> Conversation | None:
    return Conversation.objects.filter(channel=channel, kind=ConversationKind.GROUP).first()


def channel_group_open(*, host: User, channel: Channel) -> Conversation:
    """The host opens the channel's one group chat; asking again answers the same group."""
    if channel.host_id != host.pk:
        raise PermissionDenied("not_host", _("Only the channel's host can open its group chat."))
    existing = channel_group(channel=channel)
    if existing is not None:
        with transaction.atomic():
            return _join(host, existing)
    return group_create(owner=host, title=channel.name, channel=channel)


def channel_group_join(*, user: User, channel: Channel) -> Conversation:
    group = channel_group(channel=channel)
    if group is None:
        raise NotFound(_("This channel has no group chat yet."))
    if not Membership.objects.filter(channel=channel, user=user).exists():
        raise PermissionDenied("not_member", _("Join the channel first: its group chat is for its members."))
    with transaction.atomic():
        return _join(user, group)


# --- members --------------------------------------------------------------------------------------------------


def member_remove(*, by: User, conversation: Conversation, username: str) -> None:
    with transaction.atomic():
        remover = _manager(by, Conversation.objects.select_for_update().get(pk=conversation.pk))
        target = (
            Participant.objects.filter(conversation=conversation, user__username=username)
            .select_related("user")
            .first()
        )
        if target is None:
            raise NotFound(_("They aren't in this group."))
        if target.user_id == by.pk:
            raise ServiceError("use_leave", _("To go yourself, leave the group."), status=409)
        if target.role == Role.OWNER or (target.role == Role.ADMIN and remover.role != Role.OWNER):
            raise PermissionDenied("not_group_admin", _("Only the owner can remove an admin."))
        target.delete()
        _event(conversation, target.user, "removed")
        transaction.on_commit(lambda: announce_state(conversation, "conversation.removed", to=[target.user]))


def member_set_role(*, by: User, conversation: Conversation, username: str, role: str) -> Participant:
    if role not in (Role.ADMIN, Role.MEMBER):
        raise ValidationFailed({"role": [_("A member is an admin or a member.")]})
    owner = _manager(by, conversation)
    if owner.role != Role.OWNER:
        raise PermissionDenied("not_group_owner", _("Only the owner can name admins."))
    target = Participant.objects.filter(conversation=conversation, user__username=username).first()
    if target is None or target.pk == owner.pk:
        raise NotFound(_("They aren't in this group."))
    target.role = role
    target.save(update_fields=["role"])
    return target


def group_leave(*, user: User, conversation: Conversation) -> None:
    """Go. An owner who leaves hands the group to the longest-standing admin, else member; the last one closes it."""
    with transaction.atomic():
        locked = _group(Conversation.objects.select_for_update().get(pk=conversation.pk))
        me = _member(user, locked)
        me.delete()
        heir = (
            Participant.objects.filter(conversation=locked)
            .order_by(
                # admins first, then by how long they have been in
                "role",
                "joined_at",
                "pk",
            )
            .first()
        )
        if heir is None:
            locked.state = ConversationState.CLOSED
            locked.save(update_fields=["state"])
            Invite.objects.filter(conversation=locked, revoked_at__isnull=True).update(revoked_at=timezone.now())
            return
        if me.role == Role.OWNER:
            heir.role = Role.OWNER
            heir.save(update_fields=["role"])
        _event(locked, user, "left")


def conversation_mute(*, user: User, conversation: Conversation, muted: bool) -> Participant:
    """A muted conversation shows no badge and no unread count; its messages still arrive."""
    me = _member(user, conversation)
    me.muted = muted
    me.save(update_fields=["muted"])
    return me
