"""Writes: "not interested", the personalisation switch, and asking for a fresh recompute."""

from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ServiceError
from interests.models import Channel, Membership
from posts.models import Post, Same

from .models import ChannelSuggestion, NotInterested, RecommendationPrefs

# A person's suggestions are recomputed after this many new joins and *same* presses.
SIGNALS_FOR_RECOMPUTE = 3
# …but not more often than this, whatever they do.
REQUEUE_AFTER = timedelta(minutes=10)


def _enqueue_person(user: User) -> None:
    from .tasks import recompute_person

    RecommendationPrefs.objects.filter(user=user).update(queued_at=timezone.now())
    transaction.on_commit(lambda: recompute_person.enqueue(user_id=user.pk))


@transaction.atomic
def not_interested_add(*, user: User, channel: Channel | None = None, post: Post | None = None) -> NotInterested:
    """Dismiss a suggested channel or post. It never comes back; the person's suggestions are
    recomputed with it counted against its neighbours."""
    if (channel is None) == (post is None):
        raise ServiceError("one_thing", _("Say which channel or which post."), field="channel_id")
    try:
        with transaction.atomic():
            dismissal, _created = NotInterested.objects.get_or_create(user=user, channel=channel, post=post)
    except IntegrityError:  # a double tap raced itself: the first one stands
        dismissal = NotInterested.objects.get(user=user, channel=channel, post=post)
    if channel is not None:
        ChannelSuggestion.objects.filter(user=user, channel=channel).delete()
    prefs, _created = RecommendationPrefs.objects.get_or_create(user=user)
    if prefs.personalised:
        _enqueue_person(user)
    return dismissal


@transaction.atomic
def prefs_update(*, user: User, personalised: bool) -> RecommendationPrefs:
    """Personalisation off: only popular and new channels, and the stored suggestions go.
    Back on: a recompute from the person's signals."""
    prefs, _created = RecommendationPrefs.objects.select_for_update().get_or_create(user=user)
    if prefs.personalised == personalised:
        return prefs
    prefs.personalised = personalised
    if not personalised:
        ChannelSuggestion.objects.filter(user=user).delete()
        prefs.computed_at = None
        prefs.listed = ""
    prefs.save(update_fields=["personalised", "computed_at", "listed"])
    if personalised:
        _enqueue_person(user)
    return prefs


def refresh_if_due(*, user: User, prefs: RecommendationPrefs) -> bool:
    """Enqueue a recompute of this person after enough new signals. Two indexed counts, and only
    when nothing is queued for them already."""
    now = timezone.now()
    if not prefs.personalised or (prefs.queued_at is not None and now - prefs.queued_at < REQUEUE_AFTER):
        return False
    since = prefs.computed_at
    joins = Membership.objects.filter(user=user)
    sames = Same.objects.filter(user=user)
    if since is not None:
        joins = joins.filter(joined_at__gt=since)
        sames = sames.filter(created_at__gt=since)
    fresh = joins[:SIGNALS_FOR_RECOMPUTE].count()
    if fresh < SIGNALS_FOR_RECOMPUTE:
        fresh += sames[: SIGNALS_FOR_RECOMPUTE - fresh].count()
    if fresh < (SIGNALS_FOR_RECOMPUTE if since is not None else 1):
        return False
    with transaction.atomic():
        RecommendationPrefs.objects.get_or_create(user=user)
        _enqueue_person(user)
    return True
