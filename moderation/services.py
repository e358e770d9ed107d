"""Writes on moderation: reports by anyone; what a channel's host may do to keep it on theme."""

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from interests.models import Channel
from posts.models import Post
from posts.movies import film_tally_forget

from .log import log_action
from .models import ModerationAction, Report, ReportReason, ReportTarget
from .targets import registered, resolve_for_reporter

REASON_MAX = 500


def _require_host(channel: Channel, user: User) -> None:
    if channel.host_id != user.pk:
        raise PermissionDenied("not_host", _("Only the channel's host can do that."))


def _snippet(post: Post) -> str:
    return (post.text or post.kind)[:120]


def clean_reason(reason: str, *, missing: str) -> str:
    """A moderator's reason, tidied; the people concerned may read it, and the log keeps it."""
    clean = " ".join(reason.split())
    if not clean:
        raise ValidationFailed({"reason": [missing]})
    if len(clean) > REASON_MAX:
        raise ValidationFailed({"reason": [_("At most 500 characters.")]})
    return clean


def take_down(
    *, post: Post, by: User, reason: str, resolution: ModerationAction = ModerationAction.REMOVE_POST
) -> None:
    """Remove a post (locked by the caller, inside its transaction): it leaves the channel and its counts, its
    open reports close, and the action is logged. Used by the channel's host and by the site's operators."""
    if post.removed_at is None:
        film_tally_forget(Post.objects.filter(pk=post.pk))
        post.removed_at = timezone.now()
        post.removed_reason = reason
        post.pinned_at = None
        post.save(update_fields=["removed_at", "removed_reason", "pinned_at"])
        Channel.objects.filter(pk=post.channel_id).update(post_count=F("post_count") - 1)
    Report.objects.filter(target_kind=ReportTarget.POST, target_id=post.public_id, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolution=resolution
    )
    log_action(
        actor=by,
        action=ModerationAction.REMOVE_POST,
        channel=post.channel,
        post=post,
        subject=post.author,
        summary=_snippet(post),
        reason=reason,
    )


@transaction.atomic
def post_remove(*, post: Post, by: User, reason: str) -> None:
    """The host takes a post out of the channel for breaking its rule. The reason is logged."""
    post = Post.objects.select_for_update().select_related("channel").get(pk=post.pk)
    _require_host(post.channel, by)
    clean = clean_reason(reason, missing=_("Say which rule it breaks: the author may read it."))
    if post.removed_at is not None:
        return
    take_down(post=post, by=by, reason=clean)


@transaction.atomic
def post_pin(*, post: Post, by: User) -> None:
    """Pin a post to the top of its channel; the one pinned before gives its place."""
    channel = Channel.objects.select_for_update().get(pk=post.channel_id)
    _require_host(channel, by)
    if post.removed_at is not None:
        raise NotFound(_("No such post."))
    Post.objects.filter(channel=channel, pinned_at__isnull=False).exclude(pk=post.pk).update(pinned_at=None)
    Post.objects.filter(pk=post.pk).update(pinned_at=timezone.now())
    log_action(actor=by, action=ModerationAction.PIN_POST, channel=channel, post=post, summary=_snippet(post))


@transaction.atomic
def post_unpin(*, post: Post, by: User) -> None:
    channel = Channel.objects.select_for_update().get(pk=post.channel_id)
    _require_host(channel, by)
    if Post.objects.filter(pk=post.pk, pinned_at__isnull=False).update(pinned_at=None):
        log_action(actor=by, action=ModerationAction.UNPIN_POST, channel=channel, post=post, summary=_snippet(post))


def _report_channel(reporter: User, target_kind: str, target_id: str) -> Channel | None:
    """The channel whose host should see this report, and proof that the target exists for the reporter."""
    if target_kind == ReportTarget.POST:
        post = Post.objects.select_related("channel").filter(public_id=target_id, removed_at__isnull=True).first()
        if post is None:
            raise NotFound(_("No such post."))
        return post.channel
    if target_kind == ReportTarget.CHANNEL:
        channel = Channel.objects.filter(public_id=target_id).first()
        if channel is None:
            raise NotFound(_("No such channel."))
        return None  # a channel's own report goes to the operators, not to its host
    if target_kind == ReportTarget.USER:
        if not User.objects.filter(username=target_id, is_active=True).exists():
            raise NotFound(_("No such person."))
        return None
    if registered(target_kind):
        # A private message: only someone in its conversation can report it; it goes to the operators.
        if resolve_for_reporter(target_kind, reporter, target_id) is None:
            raise NotFound(_("No such message."))
        return None
    raise ServiceError("invalid_target", _("This can't be reported yet."), field="target_kind")


def report_create(*, reporter: User, target_kind: str, target_id: str, reason: str, text: str = "") -> Report:
    """Flag something for the host or the operators. Reporting the same thing twice keeps one open report."""
    errors: dict[str, list[str]] = {}
    if target_kind not in ReportTarget.values:
        errors["target_kind"] = [_("Report a post, a message, a person or a channel.")]
    if reason not in ReportReason.values:
        errors["reason"] = [_("Choose a reason.")]
    clean_text = " ".join(text.split())
    if len(clean_text) > REASON_MAX:
        errors["text"] = [_("At most 500 characters.")]
    if errors:
        raise ValidationFailed(errors)
    channel = _report_channel(reporter, target_kind, target_id)
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter,
                target_kind=target_kind,
                target_id=target_id,
                channel=channel,
                reason=reason,
                text=clean_text,
            )
    except IntegrityError:
        existing = Report.objects.get(
            reporter=reporter, target_kind=target_kind, target_id=target_id, resolved_at__isnull=True
        )
        return existing
