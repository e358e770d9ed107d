"""Channels outlive their host: when a host's account is deleted, the channel passes on."""

from collections.abc import Sequence

from django.db.models import Exists, F, OuterRef
from django.utils.translation import ngettext

from accounts.deletion import register_deletion_note, register_deletion_step
from accounts.models import User

from .models import Channel, Membership


@register_deletion_step
def hand_over_hosted_channels(user: User) -> None:
    for channel in Channel.objects.select_for_update().filter(host=user):
        heir = Membership.objects.filter(channel=channel).exclude(user=user).order_by("joined_at", "pk").first()
        if heir is None:
            if channel.cover:
                channel.cover.delete(save=False)
            channel.delete()
        else:
            channel.host_id = heir.user_id
            channel.save(update_fields=["host"])


@register_deletion_step
def leave_every_channel(user: User) -> None:
    channel_ids = list(Membership.objects.filter(user=user).values_list("channel_id", flat=True))
    Channel.objects.filter(pk__in=channel_ids).update(member_count=F("member_count") - 1)


@register_deletion_note
def hosted_channels_note(people: Sequence[User]) -> list[str]:
    has_others = list(
        Channel.objects.filter(host__in=people)
        .annotate(others=Exists(Membership.objects.filter(channel=OuterRef("pk")).exclude(user__in=people)))
        .values_list("others", flat=True)
    )
    passed = sum(has_others)
    closed = len(has_others) - passed
    notes = []
    if passed:
        notes.append(
            ngettext(
                "%(count)d channel they host passes to its longest-standing member.",
                "%(count)d channels they host pass to their longest-standing members.",
                passed,
            )
            % {"count": passed}
        )
    if closed:
        notes.append(
            ngettext(
                "%(count)d channel they host has no other member: it is deleted, with everything posted in it.",
                "%(count)d channels they host have no other member: they are deleted, with everything posted in them.",
                closed,
            )
            % {"count": closed}
        )
    return notes
