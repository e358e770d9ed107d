"""Writes on punches: punch in once per local day, and the host's clock and playlist."""

import random
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from interests.models import Channel, ChannelKind, Membership
from posts.models import Post, PostImage, Song
from posts.services import post_record
from posts.stored_images import stored_images

from .models import PlaylistEntry, Punch, PunchClock

NOTE_MAX = 140
SITE_SONG_POOL = 200


class AlreadyPunched(ServiceError):
    status = 409

    def __init__(self, at: str) -> None:
        super().__init__(
            "already_punched", _("You already punched in today, at %(time)s. See you tomorrow.") % {"time": at}
        )


@dataclass(frozen=True)
class PunchResult:
    punch: Punch
    percentile: int
    song: Song | None


def local_now(user: User, now: datetime | None = None) -> datetime:
    """The person's own wall clock: their calendar day is the one that counts."""
    moment = now or timezone.now()
    try:
        zone = zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return moment.astimezone(zone)


def in_window(clock: PunchClock | None, moment: time) -> bool:
    if clock is None or clock.window_start is None or clock.window_end is None:
        return True
    start, end = clock.window_start, clock.window_end
    if start <= end:
        return start <= moment <= end
    return moment >= start or moment <= end  # a window across midnight, e.g. 22:00–02:00


def window_label(clock: PunchClock | None) -> str:
    if clock is None or clock.window_start is None or clock.window_end is None:
        return ""
    return f"{clock.window_start:%H:%M}–{clock.window_end:%H:%M}"


def _clean_note(note: str) -> str:
    clean = " ".join(note.split())
    if len(clean) > NOTE_MAX:
        raise ValidationFailed({"note": [_("A note has at most 140 characters.")]})
    return clean


def _streak(user: User, channel: Channel, today: date) -> int:
    """Yesterday's streak plus one, read from the one row that holds it (an indexed lookup)."""
    previous = (
        Punch.objects.filter(user=user, channel=channel, local_date__lt=today)
        .order_by("-local_date")
        .values("local_date", "streak")
        .first()
    )
    if previous and previous["local_date"] == today - timedelta(days=1):
        return int(previous["streak"]) + 1
    return 1


def _song_for(user: User, channel: Channel) -> Song | None:
    """Shuffle from the channel's playlist, else from music posted across the site; never the
    song this person heard last time, when there is another to choose."""
    last = (
        Punch.objects.filter(user=user, song_post__isnull=False)
        .order_by("-punched_at")
        .values_list("song_post_id", flat=True)
        .first()
    )
    playlist = list(
        Song.objects.filter(
            post__in=PlaylistEntry.objects.filter(channel=channel).values("song_post"), post__removed_at__isnull=True
        )
    )
    pool = playlist or list(
        Song.objects.filter(post__removed_at__isnull=True, post__channel__is_closed=False)
        .exclude(audio="")
        .order_by("-post__created_at")[:SITE_SONG_POOL]
    )
    fresh = [song for song in pool if song.post_id != last] or pool
    return random.choice(fresh) if fresh else None  # noqa: S311  (a shuffle, not a secret)


def punch_in(
    *,
    user: User,
    channel: Channel,
    note: str = "",
    photo: UploadedFile[bytes] | None = None,
    now: datetime | None = None,
) -> PunchResult:
    """Punch in for today, the person's own local day. A second punch that day is refused."""
    if channel.kind != ChannelKind.PUNCH:
        raise ServiceError("wrong_kind", _("This channel has no clock to punch."))
    if channel.is_closed:
        raise PermissionDenied("channel_closed", _("This channel is closed."))
    if not Membership.objects.filter(channel=channel, user=user).exists():
        raise PermissionDenied("not_member", _("Join the channel to punch in."))
    clean_note = _clean_note(note)
    local = local_now(user, now)
    today = local.date()
    clock = PunchClock.objects.filter(channel=channel).first()
    if not in_window(clock, local.time()):
        raise ServiceError(
            "outside_window",
            _("Punch-in here is open %(window)s, your time. It's %(now)s now.")
            % {"window": window_label(clock), "now": local.strftime("%H:%M")},
        )
    existing = Punch.objects.filter(channel=channel, user=user, local_date=today).first()
    if existing is not None:
        raise AlreadyPunched(local_now(user, existing.punched_at).strftime("%H:%M"))
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    song = _song_for(user, channel)
    with stored_images([photo] if photo else [], field="photo") as stored:
        try:
            with transaction.atomic():
                post = post_record(
                    post=Post(
                        channel=channel,
                        author=user,
                        kind=ChannelKind.PUNCH,
                        text=clean_note,
                        created_at=now or timezone.now(),
                    )
                )
                for position, item in enumerate(stored):
                    PostImage.objects.create(
                        post=post,
                        position=position,
                        image=item.image_name,
                        thumb=item.thumb_name,
                        width=item.width,
                        height=item.height,
                        thumb_width=item.thumb_width,
                        thumb_height=item.thumb_height,
                    )
                earlier = Punch.objects.filter(channel=channel, local_date=today, local_seconds__lt=seconds).count()
                punch = Punch.objects.create(
                    channel=channel,
                    user=user,
                    post=post,
                    punched_at=post.created_at,
                    local_date=today,
                    local_seconds=seconds,
                    time_zone=user.timezone,
                    streak=_streak(user, channel, today),
                    rank=earlier + 1,
                    song_post_id=song.post_id if song else None,
                )
        except IntegrityError:
            # Another tab or a double tap won the race for today's punch.
            first = Punch.objects.get(channel=channel, user=user, local_date=today)
            raise AlreadyPunched(local_now(user, first.punched_at).strftime("%H:%M")) from None
    members = Channel.objects.filter(pk=channel.pk).values_list("member_count", flat=True).first() or 1
    population = max(members, punch.rank)
    percentile = round(100 * (population - punch.rank) / population)
    return PunchResult(punch=punch, percentile=percentile, song=song)


def _require_host(channel: Channel, user: User) -> None:
    if channel.host_id != user.pk:
        raise PermissionDenied("not_host", _("Only the channel's host can do that."))


@transaction.atomic
def clock_update(
    *, channel: Channel, by: User, window_start: time | None, window_end: time | None, prompt: str
) -> PunchClock:
    _require_host(channel, by)
    if channel.kind != ChannelKind.PUNCH:
        raise ServiceError("wrong_kind", _("This channel has no clock."))
    if (window_start is None) != (window_end is None):
        raise ValidationFailed({"window_end": [_("Give both ends of the window, or neither.")]})
    if window_start is not None and window_start == window_end:
        raise ValidationFailed({"window_end": [_("The window must last a while.")]})
    clean_prompt = " ".join(prompt.split())
    if len(clean_prompt) > 40:
        raise ValidationFailed({"prompt": [_("A prompt has at most 40 characters.")]})
    clock, _created = PunchClock.objects.update_or_create(
        channel=channel, defaults={"window_start": window_start, "window_end": window_end, "prompt": clean_prompt}
    )
    return clock


@transaction.atomic
def playlist_add(*, channel: Channel, by: User, song_post: Post) -> None:
    """The host adds a song from a music post anywhere on the site."""
    _require_host(channel, by)
    if channel.kind != ChannelKind.PUNCH:
        raise ServiceError("wrong_kind", _("Only punch channels have a playlist."))
    if (
        song_post.kind != ChannelKind.MUSIC
        or song_post.removed_at is not None
        or not Song.objects.filter(post=song_post).exists()
    ):
        raise NotFound(_("No such song."))
    PlaylistEntry.objects.get_or_create(channel=channel, song_post=song_post)


@transaction.atomic
def playlist_remove(*, channel: Channel, by: User, song_post: Post) -> None:
    _require_host(channel, by)
    PlaylistEntry.objects.filter(channel=channel, song_post=song_post).delete()
