"""Who may not take part in a channel: the banned (by an operator), on top of everyone suspended."""

from django.utils.translation import gettext as _

from accounts.models import User
from accounts.suspension import ensure_not_suspended
from core.errors import PermissionDenied

from .models import Channel, ChannelBan


def ensure_may_take_part(*, user: User, channel: Channel) -> None:
    """Raise unless this person may join, post or punch in this channel."""
    ensure_not_suspended(user)
    if ChannelBan.objects.filter(channel=channel, user=user).exists():
        raise PermissionDenied("banned_from_channel", _("You can't take part in this channel any more."))
