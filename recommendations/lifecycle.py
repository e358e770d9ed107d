"""What a person's recommendations hold, in their export; and what deleting the account undoes."""

from typing import Any

from accounts.deletion import register_deletion_step
from accounts.models import User
from accounts.selectors import register_export_section
from interests.models import Membership
from posts.models import Same

from .models import ChannelSuggestion, NotInterested, RecommendationPrefs
from .recompute import note_signals


@register_export_section("recommendations")
def recommendations_section(user: User) -> dict[str, Any]:
    prefs = RecommendationPrefs.objects.filter(user=user).first()
    return {
        "personalised": prefs.personalised if prefs else True,
        "computed_at": prefs.computed_at.isoformat() if prefs and prefs.computed_at else None,
        "suggested_channels": [
            {"channel": s.channel.name, "reason": s.reason, "because_of": s.via.name if s.via else None}
            for s in ChannelSuggestion.objects.filter(user=user).select_related("channel", "via").order_by("rank")
        ],
        "not_interested": [
            {
                "channel": d.channel.public_id if d.channel else None,
                "post": d.post.public_id if d.post else None,
                "at": d.created_at.isoformat(),
            }
            for d in NotInterested.objects.filter(user=user).select_related("channel", "post").order_by("created_at")
        ],
    }


@register_deletion_step
def forget_recommendations(user: User) -> None:
    """The person's own rows go by cascade. Their joins and *same* presses also live on, in
    aggregate, in the channel graph until the next full recompute: count them as changes, so it
    comes sooner."""
    gone = Membership.objects.filter(user=user).count() + Same.objects.filter(user=user).count()
    ChannelSuggestion.objects.filter(user=user).delete()
    if gone:
        note_signals(gone)
