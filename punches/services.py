"""Writes on punches: punch in once per local day, and the host's clock and playlist."""

import logging
import random
import zoneinfo
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.cache import cache as shared_cache
from django.core.files.uploadedfile import UploadedFile
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _
from redis.exceptions import RedisError

from accounts.models import User, new_public_id
from accounts.suspension import ensure_not_suspended
from core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from core.rawsql import converted, fetch_one
from interests.models import Channel, ChannelKind, Membership
from posts.models import Post, PostImage, Song
from posts.stored_images import StoredImage, stored_images

from .models import PlaylistEntry, Punch, PunchClock

logger = logging.getLogger(__name__)

NOTE_MAX = 140
SITE_SONG_POOL = 200
SONG_POOL_SECONDS = 30
PLAYLIST_SIZE = 100  # a morning's shuffle, not a library: the list (web and API) stays one page


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


def _song_for(channel: Channel, *, avoid: int | None) -> Song | None:
    """Shuffle from the channel's playlist, else from music posted across the site; never the song
    this person heard last time here, when there is another to choose. The pool and its songs are
    cached briefly: a morning rush draws from them hundreds of times a second."""
    key = f"punch-songs:{channel.pk}"
    pool: list[int] | None = _cache_get(key)
    if pool is None:
        playlist = Song.objects.filter(
            post__in=PlaylistEntry.objects.filter(channel=channel).values("song_post"), post__removed_at__isnull=True
        )
        site = (
            Song.objects.filter(post__removed_at__isnull=True, post__channel__is_closed=False)
            .exclude(audio="")
            .order_by("-post__created_at")
        )
        pool = list(playlist.values_list("post_id", flat=True)) or list(
            site.values_list("post_id", flat=True)[:SITE_SONG_POOL]
        )
        _cache_set(key, pool)
    fresh = [post_id for post_id in pool if post_id != avoid] or pool
    if not fresh:
        return None
    return _song(random.choice(fresh))  # noqa: S311  (a shuffle, not a secret)


def _song(post_id: int) -> Song | None:
    key = f"punch-song:{post_id}"
    song: Song | None = _cache_get(key)
    if song is None:
        song = Song.objects.select_related("post").filter(post_id=post_id).first()
        if song is not None:
            _cache_set(key, song)
    return song


# The song cache is a convenience: with Redis away (production's cache) a punch reads the songs from
# the database instead of failing (docs/reliability.md).
def _cache_get(key: str) -> Any:
    try:
        return shared_cache.get(key)
    except (RedisError, OSError) as error:
        logger.warning("song cache unavailable, reading the database: %s", error)
        return None


def _cache_set(key: str, value: Any) -> None:
    try:
        shared_cache.set(key, value, SONG_POOL_SECONDS)
    except (RedisError, OSError) as error:
        logger.warning("song cache unavailable, not stored: %s", error)


def forget_song_pool(channel: Channel) -> None:
    try:
        shared_cache.delete(f"punch-songs:{channel.pk}")
    except (RedisError, OSError) as error:  # the pool then lives out its SONG_POOL_SECONDS
        logger.warning("song cache unavailable, pool not forgotten: %s", error)


def _clock_of(channel: Channel) -> PunchClock | None:
    try:
        return channel.punch_clock  # joined in by interests.selectors.channel_get
    except PunchClock.DoesNotExist:
        return None


def _is_member(user: User, channel: Channel) -> bool:
    joined = getattr(channel, "joined", None)  # annotated by interests.selectors.channel_get
    if joined is not None:
        return bool(joined)
    return Membership.objects.filter(channel=channel, user=user).exists()


_LATEST = ("local_date", "streak", "song_post_id", "punched_at")


def _latest_punch(user: User, channel: Channel) -> dict[str, Any] | None:
    """The person's last punch here: one indexed row, by a hand-written query (core/rawsql.py) — a
    punch runs it hundreds of times a second in a rush, and the ORM spent 0.6 ms of CPU building it."""
    row = fetch_one(
        "SELECT local_date, streak, song_post_id, punched_at FROM punches_punch"
        " WHERE user_id = %s AND channel_id = %s ORDER BY local_date DESC LIMIT 1",
        [user.pk, channel.pk],
    )
    return converted(Punch, _LATEST, row) if row is not None else None


def _zone_name(user: User) -> str:
    """The person's time zone as `local_now` reads it: theirs if it is known, else UTC."""
    try:
        zoneinfo.ZoneInfo(user.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return user.timezone


_ZONES_POSTGRES_KNOWS: dict[str, bool] = {}


def _postgres_knows_zone(name: str) -> bool:
    """PostgreSQL and Python read the same IANA database, but either may be newer than the other.

    Asked once per zone and process, by reading one time in that zone: ~0.2 ms. Reading the list of every zone
    PostgreSQL knows (`pg_timezone_names`) costs ~35 ms, which the first punches of a rush all waited out.
    """
    known = _ZONES_POSTGRES_KNOWS.get(name)
    if known is None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:  # a savepoint inside a caller's transaction
                cursor.execute("SELECT now() AT TIME ZONE %s", [name])
            known = True
        except DataError:  # 22023: time zone "…" not recognized (a connection that broke raises, and is not noted)
            known = False
        _ZONES_POSTGRES_KNOWS[name] = known
    return known


def _streak(streak_from: tuple[date, int] | None, today: date) -> int:
    if streak_from is not None and streak_from[0] == today - timedelta(days=1):
        return streak_from[1] + 1
    return 1


def _punch_row(
    *,
    user: User,
    channel: Channel,
    note: str,
    now: datetime | None,
    streak_from: tuple[date, int] | None,
    song: Song | None,
) -> tuple[Punch, int]:
    """The punch and its post, and the channel's member count. Must be called in a transaction."""
    # Take the channel's row lock first, then read the clock: punches are numbered in the
    # order they commit, so a rank counted now stays right when recounted later.
    members = Channel.objects.select_for_update().filter(pk=channel.pk).values_list("member_count", flat=True).get()
    Channel.objects.filter(pk=channel.pk).update(post_count=F("post_count") + 1, last_post_at=Now())
    moment = now or timezone.now()
    local = local_now(user, moment)
    today = local.date()
    seconds = local.hour * 3600 + local.minute * 60 + local.second
    post = Post.objects.create(channel=channel, author=user, kind=ChannelKind.PUNCH, text=note, created_at=moment)
    earlier = Punch.objects.filter(channel=channel, local_date=today, local_seconds__lt=seconds).count()
    punch = Punch.objects.create(
        channel=channel,
        user=user,
        post=post,
        punched_at=moment,
        local_date=today,
        local_seconds=seconds,
        time_zone=user.timezone,
        streak=_streak(streak_from, today),
        rank=earlier + 1,
        song_post_id=song.post_id if song else None,
    )
    return punch, members


# The same writes as `_punch_row`, sent to PostgreSQL as one simple query: its statements run in one
# transaction (the caller's, or else an implicit one that commits at the end) and each reads a new
# snapshot. The UPDATE takes the channel's row lock; only then does the INSERT read the clock and count
# the earlier punches, so ranks stay right when recounted, as in `_punch_row`. Nothing waits on Python
# while the lock is held: under a rush, the lock is held for the server's work alone.
_PUNCH_SQL = """
UPDATE interests_channel SET post_count = post_count + 1, last_post_at = statement_timestamp()
WHERE id = %(channel)s;
WITH clock AS (
    SELECT COALESCE(%(now)s::timestamptz, clock_timestamp()) AS moment
), here AS (
    SELECT moment, (moment AT TIME ZONE %(zone)s) AS wall FROM clock
), local AS (
    SELECT moment, wall::date AS local_date, floor(extract(epoch FROM wall::time))::integer AS local_seconds FROM here
), post AS (
    INSERT INTO posts_post (public_id, channel_id, author_id, kind, text, same_count, created_at, removed_reason)
    SELECT %(post_public_id)s, %(channel)s, %(user)s, %(kind)s, %(note)s, 0, moment, '' FROM local
    RETURNING id
)
INSERT INTO punches_punch
    (public_id, channel_id, user_id, post_id, punched_at, local_date, local_seconds, time_zone, streak, rank,
     song_post_id)
SELECT %(punch_public_id)s, %(channel)s, %(user)s, post.id, local.moment, local.local_date, local.local_seconds,
    %(time_zone)s,
    CASE WHEN local.local_date - 1 = %(latest_date)s::date THEN %(latest_streak)s::integer + 1 ELSE 1 END,
    1 + (
        SELECT count(*) FROM punches_punch earlier
        WHERE earlier.channel_id = %(channel)s AND earlier.local_date = local.local_date
        AND earlier.local_seconds < local.local_seconds
    ),
    %(song_post)s
FROM local, post
RETURNING id, public_id, channel_id, user_id, post_id, punched_at, local_date, local_seconds, time_zone, streak,
    rank, song_post_id, (SELECT member_count FROM interests_channel WHERE id = %(channel)s)
"""
_PUNCH_RETURNS = [
    "id",
    "public_id",
    "channel_id",
    "user_id",
    "post_id",
    "punched_at",
    "local_date",
    "local_seconds",
    "time_zone",
    "streak",
    "rank",
    "song_post_id",
]


def _punch_row_in_one_trip(
    *,
    user: User,
    channel: Channel,
    note: str,
    now: datetime | None,
    streak_from: tuple[date, int] | None,
    song: Song | None,
) -> tuple[Punch, int]:
    """`_punch_row` for PostgreSQL in one round trip; raises IntegrityError for a second punch that day."""
    params = {
        "channel": channel.pk,
        "user": user.pk,
        "now": now,
        "zone": _zone_name(user),
        "kind": ChannelKind.PUNCH.value,
        "note": note,
        "post_public_id": new_public_id(),
        "punch_public_id": new_public_id(),
        "time_zone": user.timezone,
        "latest_date": streak_from[0] if streak_from else None,
        "latest_streak": streak_from[1] if streak_from else None,
        "song_post": song.post_id if song else None,
    }
    with connection.cursor() as cursor:
        cursor.execute(_PUNCH_SQL, params)
        cursor.nextset()  # past the UPDATE's (empty) result to the INSERT's
        row = cursor.fetchone()
    if row is None:  # the channel's row is gone
        raise NotFound(_("No such channel."))
    *values, members = row
    punch = Punch.from_db(connection.alias, _PUNCH_RETURNS, values)
    punch.channel = channel
    punch.user = user
    return punch, int(members)


def _attach_images(post_id: int, stored: list[StoredImage]) -> None:
    for position, item in enumerate(stored):
        PostImage.objects.create(
            post_id=post_id,
            position=position,
            image=item.image_name,
            thumb=item.thumb_name,
            width=item.width,
            height=item.height,
            thumb_width=item.thumb_width,
            thumb_height=item.thumb_height,
        )


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
    if not _is_member(user, channel):
        raise PermissionDenied("not_member", _("Join the channel to punch in."))  # a ban removed the membership
    ensure_not_suspended(user)
    clean_note = _clean_note(note)
    local = local_now(user, now)
    clock = _clock_of(channel)
    if not in_window(clock, local.time()):
        raise ServiceError(
            "outside_window",
            _("Punch-in here is open %(window)s, your time. It's %(now)s now.")
            % {"window": window_label(clock), "now": local.strftime("%H:%M")},
        )
    # One indexed row says it all: already today? yesterday's streak? the last song heard here?
    latest = _latest_punch(user, channel)
    if latest is not None and latest["local_date"] == local.date():
        raise AlreadyPunched(local_now(user, latest["punched_at"]).strftime("%H:%M"))
    song = _song_for(channel, avoid=latest["song_post_id"] if latest else None)
    streak_from = (latest["local_date"], int(latest["streak"])) if latest is not None else None
    with stored_images([photo] if photo else [], field="photo") as stored:
        try:
            if connection.vendor == "postgresql" and _postgres_knows_zone(_zone_name(user)):
                # Outside any transaction the statements commit on their own; inside one (a test, a
                # photo to attach) a savepoint keeps a refused punch from breaking it.
                guard = transaction.atomic() if stored or connection.in_atomic_block else nullcontext()
                with guard:
                    punch, members = _punch_row_in_one_trip(
                        user=user, channel=channel, note=clean_note, now=now, streak_from=streak_from, song=song
                    )
                    _attach_images(punch.post_id, stored)
            else:
                with transaction.atomic():
                    punch, members = _punch_row(
                        user=user, channel=channel, note=clean_note, now=now, streak_from=streak_from, song=song
                    )
                    _attach_images(punch.post_id, stored)
        except IntegrityError:
            # Another tab or a double tap won the race for today's punch.
            first = Punch.objects.filter(channel=channel, user=user).order_by("-local_date").first()
            at = local_now(user, first.punched_at).strftime("%H:%M") if first else ""
            raise AlreadyPunched(at) from None
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
    for name, end in (("window_start", window_start), ("window_end", window_end)):
        if end is not None and end.utcoffset() is not None:  # the clock reads each person's local time
            raise ValidationFailed({name: [_("A time of day, without a UTC offset: each person's own local time.")]})
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
    Channel.objects.select_for_update().filter(pk=channel.pk).values_list("pk").get()  # one add at a time
    entries = PlaylistEntry.objects.filter(channel=channel)
    if not entries.filter(song_post=song_post).exists() and entries.count() >= PLAYLIST_SIZE:
        raise ServiceError(
            "playlist_full",
            _("A playlist holds %(count)d songs at most: take one out first.") % {"count": PLAYLIST_SIZE},
        )
    PlaylistEntry.objects.get_or_create(channel=channel, song_post=song_post)
    transaction.on_commit(lambda: forget_song_pool(channel))


@transaction.atomic
def playlist_remove(*, channel: Channel, by: User, song_post: Post) -> None:
    _require_host(channel, by)
    PlaylistEntry.objects.filter(channel=channel, song_post=song_post).delete()
    transaction.on_commit(lambda: forget_song_pool(channel))
