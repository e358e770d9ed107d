"""Channels outlive their host: when a host's account is deleted, the channel passes on."""

from django.db.models import F

from accounts.deletion import register_deletion_step
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
