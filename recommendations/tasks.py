"""Recomputes run here, never in a request: one person's after their signals, everyone's on a schedule."""

import logging

from django.tasks import task

from accounts.models import User

from . import recompute

log = logging.getLogger(__name__)


@task()
def recompute_person(*, user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    new_signals = recompute.recompute_person(user)
    if new_signals and recompute.note_signals(new_signals):
        recompute_everyone.enqueue()


@task()
def recompute_everyone() -> None:
    stats = recompute.recompute_everyone()
    log.info(
        "recommendations recomputed: %d people, %d channels, %d signals in %.1fs",
        stats.people,
        stats.channels,
        stats.signals,
        stats.seconds,
    )
