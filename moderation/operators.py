"""What the site's operators do with reports: dismiss them, remove a post, suspend an account, ban someone from
a channel, close a channel — and, only for one reported private message, read it. Every action writes one
moderation log row (who, what, why, when) and closes the open reports it answers. The reporter is never named
to the reported: suspension and removal notices carry the operator's reason only.

Operators are staff with the `moderation.change_report` permission (or superusers).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from accounts.suspension import FOREVER
from core.errors import NotFound, PermissionDenied, ValidationFailed
from interests.models import Channel, ChannelBan, Membership
from posts.models import Post

from .log import log_action
from .models import ModerationAction, Report, ReportTarget
from .services import REASON_MAX, clean_reason, take_down
from .targets import ReportedThing, load_for_operator

SUSPENSION_DAYS = (1, 3, 7, 30)


def is_operator(user: User) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm("moderation.change_report"))


def ensure_operator(user: User) -> None:
    if not is_operator(user):
        raise PermissionDenied("not_operator", _("Only the site's moderators can do that."))


def _reason(reason: str) -> str:
    return clean_reason(reason, missing=_("Say why: it is logged, and the person concerned may read it."))


def _close_reports(kind: str, target_id: str, resolution: ModerationAction) -> int:
    return Report.objects.filter(target_kind=kind, target_id=target_id, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=resolution
    )


@transaction.atomic
def reports_dismiss(*, by: User, target_kind: str, target_id: str, reason: str = "") -> int:
    """Nothing wrong here: close the target's open reports."""
    ensure_operator(by)
    closed = _close_reports(target_kind, target_id, ModerationAction.DISMISS_REPORTS)
    if not closed:
        raise NotFound(_("No open reports of that."))
    log_action(
        actor=by,
        action=ModerationAction.DISMISS_REPORTS,
        summary=f"{target_kind} {target_id}",
        reason=" ".join(reason.split())[:REASON_MAX],
    )
    return closed


@transaction.atomic
def post_remove_by_operator(*, by: User, post_id: str, reason: str) -> Post:
    ensure_operator(by)
    clean = _reason(reason)
    post = Post.objects.select_for_update().select_related("channel", "author").filter(public_id=post_id).first()
    if post is None:
        raise NotFound(_("No such post."))
    take_down(post=post, by=by, reason=clean)
    return post


def _person(username: str) -> User:
    person = User.objects.filter(username=username).first()
    if person is None:
        raise NotFound(_("No such person."))
    return person


@transaction.atomic
def account_suspend(*, by: User, username: str, days: int | None, reason: str) -> User:
    """Suspend for 1, 3, 7 or 30 days, or for good (`days=None`). The person is told why, not by whom."""
    ensure_operator(by)
    clean = _reason(reason)
    if days is not None and days not in SUSPENSION_DAYS:
        raise ValidationFailed({"days": [_("Suspend for 1, 3, 7 or 30 days, or for good.")]})
    person = _person(username)
    if person.pk == by.pk:
        raise PermissionDenied("self_suspend", _("You can't suspend yourself."))
    until: datetime = FOREVER if days is None else timezone.now() + timedelta(days=days)
    User.objects.filter(pk=person.pk).update(suspended_until=until, suspension_reason=clean)
    person.suspended_until, person.suspension_reason = until, clean
    _close_reports(ReportTarget.USER, person.username, ModerationAction.SUSPEND)
    log_action(
        actor=by,
        action=ModerationAction.SUSPEND,
        subject=person,
        summary=_("for good")
        if days is None
        else ngettext("for %(days)s day", "for %(days)s days", days) % {"days": days},
        reason=clean,
    )
    return person


@transaction.atomic
def account_unsuspend(*, by: User, username: str, reason: str = "") -> User:
    ensure_operator(by)
    person = _person(username)
    User.objects.filter(pk=person.pk).update(suspended_until=None, suspension_reason="")
    person.suspended_until, person.suspension_reason = None, ""
    log_action(actor=by, action=ModerationAction.UNSUSPEND, subject=person, reason=" ".join(reason.split()))
    return person


@transaction.atomic
def channel_ban(*, by: User, channel_id: str, username: str, reason: str) -> ChannelBan:
    """Bar someone from one channel: they leave it and can't join or post there again."""
    ensure_operator(by)
    clean = _reason(reason)
    channel = Channel.objects.select_for_update().filter(public_id=channel_id).first()
    if channel is None:
        raise NotFound(_("No such channel."))
    person = _person(username)
    if channel.host_id == person.pk:
        raise PermissionDenied("ban_host", _("Hand the channel to someone else, or close it, before banning its host."))
    ban, _created = ChannelBan.objects.get_or_create(channel=channel, user=person, defaults={"reason": clean})
    removed, _count = Membership.objects.filter(channel=channel, user=person).delete()
    if removed:
        Channel.objects.filter(pk=channel.pk).update(member_count=F("member_count") - 1)
    log_action(actor=by, action=ModerationAction.BAN_FROM_CHANNEL, channel=channel, subject=person, reason=clean)
    return ban


@transaction.atomic
def channel_close(*, by: User, channel_id: str, reason: str) -> Channel:
    """Close a channel: it leaves Explore and Home, and takes no posts or members."""
    ensure_operator(by)
    clean = _reason(reason)
    channel = Channel.objects.select_for_update().filter(public_id=channel_id).first()
    if channel is None:
        raise NotFound(_("No such channel."))
    if not channel.is_closed:
        channel.is_closed = True
        channel.save(update_fields=["is_closed"])
    _close_reports(ReportTarget.CHANNEL, channel.public_id, ModerationAction.CLOSE_CHANNEL)
    log_action(actor=by, action=ModerationAction.CLOSE_CHANNEL, channel=channel, summary=channel.name, reason=clean)
    return channel


@transaction.atomic
def reported_message_read(*, by: User, message_id: str) -> ReportedThing:
    """Open one reported private message. Allowed only while it has a report; the reading itself is logged."""
    ensure_operator(by)
    if not Report.objects.filter(target_kind=ReportTarget.MESSAGE, target_id=message_id).exists():
        raise NotFound(_("No report of that message."))
    thing = load_for_operator(ReportTarget.MESSAGE, message_id)
    if thing is None:
        raise NotFound(_("That message is gone."))
    log_action(actor=by, action=ModerationAction.READ_MESSAGE, subject=thing.author, summary=f"message {message_id}")
    return thing
