"""Writes on channels: create, join, leave, and what the host may change."""

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed, gather_checks
from moderation.log import log_action
from moderation.models import ModerationAction

from .bans import ensure_may_take_part
from .categories import CATEGORIES
from .covers import store_cover
from .models import Channel, ChannelKind, Membership
from .names import MAX_LENGTH, MIN_WIDTH, channel_name_key, display_width, tidy_name

DESCRIPTION_MAX = 500
RULE_MAX = 300


def _clean_name(raw: str) -> str:
    name = tidy_name(raw)
    if not name:
        raise ServiceError("required", _("Give the channel a name."), field="name")
    if display_width(name) < MIN_WIDTH:
        raise ServiceError("too_short", _("A channel name has at least 2 characters."), field="name")
    if len(name) > MAX_LENGTH:
        raise ServiceError("too_long", _("A channel name has at most 40 characters."), field="name")
    if Channel.objects.filter(name_key=channel_name_key(name)).exists():
        raise ServiceError("name_taken", _("A channel with this name exists already."), field="name")
    return name


def _clean_text(raw: str, *, field: str, limit: int) -> str:
    text = "\n".join(line.rstrip() for line in raw.strip().splitlines())
    if len(text) > limit:
        raise ServiceError("too_long", _("At most %(n)d characters.") % {"n": limit}, field=field)
    return text


def channel_create(
    *,
    host: User,
    name: str,
    description: str = "",
    rule: str = "",
    kind: str,
    category: str,
    cover: UploadedFile[bytes] | None = None,
) -> Channel:
    """Open a channel; its creator is its host and its first member."""
    ensure_not_suspended(host)
    values, errors = gather_checks(
        {
            "name": lambda: _clean_name(name),
            "description": lambda: _clean_text(description, field="description", limit=DESCRIPTION_MAX),
            "rule": lambda: _clean_text(rule, field="rule", limit=RULE_MAX),
        }
    )
    if kind not in ChannelKind.values:
        errors["kind"] = [_("Choose what people post here.")]
    if category not in CATEGORIES:
        errors["category"] = [_("Choose a category.")]
    if errors:
        raise ValidationFailed(errors)
    channel = Channel(
        name=values["name"],
        name_key=channel_name_key(values["name"]),
        description=values["description"],
        rule=values["rule"],
        kind=kind,
        category=category,
        host=host,
        member_count=1,
    )
    try:
        with transaction.atomic():
            if cover is not None:
                store_cover(channel=channel, upload=cover)
            channel.save()
            Membership.objects.create(channel=channel, user=host)
    except IntegrityError:
        if channel.cover:
            channel.cover.delete(save=False)
        raise ServiceError("name_taken", _("A channel with this name exists already."), field="name") from None
    return channel


@transaction.atomic
def channel_join(*, user: User, channel: Channel) -> None:
    if channel.is_closed:
        raise PermissionDenied("channel_closed", _("This channel is closed."))
    ensure_may_take_part(user=user, channel=channel)
    _membership, created = Membership.objects.get_or_create(channel=channel, user=user)
    if created:
        Channel.objects.filter(pk=channel.pk).update(member_count=F("member_count") + 1)


@transaction.atomic
def channel_leave(*, user: User, channel: Channel) -> None:
    channel = Channel.objects.select_for_update().get(pk=channel.pk)
    if channel.host_id == user.pk and channel.member_count > 1:
        raise PermissionDenied("host_cannot_leave", _("Hand the channel to another member before you leave."))
    deleted, _count = Membership.objects.filter(channel=channel, user=user).delete()
    if deleted:
        Channel.objects.filter(pk=channel.pk).update(member_count=F("member_count") - 1)
        if channel.host_id == user.pk:
            Channel.objects.filter(pk=channel.pk).update(host=None)


def _require_host(channel: Channel, user: User) -> None:
    if channel.host_id != user.pk:
        raise PermissionDenied("not_host", _("Only the channel's host can do that."))


@transaction.atomic
def channel_update(*, channel: Channel, by: User, description: str, rule: str) -> Channel:
    _require_host(channel, by)
    values, errors = gather_checks(
        {
            "description": lambda: _clean_text(description, field="description", limit=DESCRIPTION_MAX),
            "rule": lambda: _clean_text(rule, field="rule", limit=RULE_MAX),
        }
    )
    if errors:
        raise ValidationFailed(errors)
    channel.description = values["description"]
    channel.rule = values["rule"]
    channel.save(update_fields=["description", "rule"])
    return channel


@transaction.atomic
def channel_transfer(*, channel: Channel, by: User, to_username: str) -> Channel:
    """Hand the channel to another member, who becomes its host."""
    _require_host(channel, by)
    member = (
        Membership.objects.select_related("user")
        .filter(channel=channel, user__username__iexact=to_username.strip())
        .exclude(user=by)
        .first()
    )
    if member is None:
        raise NotFound(_("Nobody by that name is a member of this channel."))
    channel.host = member.user
    channel.save(update_fields=["host"])
    log_action(
        actor=by,
        action=ModerationAction.TRANSFER_CHANNEL,
        channel=channel,
        subject=member.user,
        summary=member.user.username,
    )
    return channel
