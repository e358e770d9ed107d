"""The moderation log: imported by the features it records, so it imports none of them."""

from typing import TYPE_CHECKING

from accounts.models import User

from .models import ModerationAction, ModerationLogEntry

if TYPE_CHECKING:
    from interests.models import Channel
    from posts.models import Post


def log_action(
    *,
    actor: User,
    action: ModerationAction,
    channel: "Channel | None" = None,
    post: "Post | None" = None,
    subject: User | None = None,
    summary: str = "",
    reason: str = "",
) -> ModerationLogEntry:
    """Write the one log row a moderator action leaves. Call inside the action's transaction."""
    return ModerationLogEntry.objects.create(
        actor=actor, action=action, channel=channel, post=post, subject=subject, summary=summary[:200], reason=reason
    )
