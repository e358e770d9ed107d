"""Reads on punches: today's board, a person's last 30 days, the host's week."""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

from django.db.models import Avg, Count
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import NotFound, PermissionDenied
from core.pagination import Page, keyset_page
from core.prepared import Prepared, sql_for
from core.rawsql import fetch_one, instance, select_list, width
from interests.models import Channel

from .models import PlaylistEntry, Punch, PunchClock
from .services import local_now

BOARD_SIZE = 100


@cache
def _punch_channel_lookup() -> Prepared:
    return Prepared(
        "same_punch_channel",
        f"SELECT {select_list(Channel, 'c')},"  # noqa: S608  (the models' columns)
        " EXISTS (SELECT 1 FROM interests_membership m WHERE m.channel_id = c.id AND m.user_id = %s),"
        f" {select_list(PunchClock, 'k')}"
        " FROM interests_channel c LEFT JOIN punches_punchclock k ON k.channel_id = c.id"
        " WHERE c.public_id = %s AND c.is_closed = %s",
    )


def punch_channel_get(*, viewer: User, public_id: str) -> Channel:
    """An open channel as `interests.selectors.channel_get` gives it to a punch (whether the viewer
    joined, and its clock) without its host, whom a punch never shows. A punch is a small request that
    comes hundreds of times a second in a morning rush, so this is one hand-written statement
    (core/rawsql.py), prepared once per connection where connections last: the ORM built and compiled it in
    ~2 ms of CPU."""
    (sql,) = sql_for(_punch_channel_lookup())
    row = fetch_one(sql, [viewer.pk, public_id, False])
    if row is None:
        raise NotFound(_("No such channel."))
    channel = instance(Channel, row)
    assert channel is not None  # the row is the channel's
    channel.joined = bool(row[width(Channel)])  # type: ignore[attr-defined]  # as channel_get annotates it
    clock = instance(PunchClock, row, width(Channel) + 1)
    if clock is not None:
        PunchClock.channel.field.set_cached_value(clock, channel)
    Channel.punch_clock.related.set_cached_value(channel, clock)  # as select_related("punch_clock") does
    return channel


@dataclass(frozen=True)
class BoardRow:
    username: str
    local_seconds: int
    streak: int
    note: str

    @property
    def clock(self) -> str:
        return f"{self.local_seconds // 3600:02d}:{self.local_seconds % 3600 // 60:02d}"


@dataclass(frozen=True)
class DayPoint:
    day: date
    local_seconds: int | None  # None: no punch that day


@dataclass(frozen=True)
class WeekDay:
    day: date
    count: int
    average_seconds: int | None

    @property
    def average_clock(self) -> str:
        if self.average_seconds is None:
            return ""
        return f"{self.average_seconds // 3600:02d}:{self.average_seconds % 3600 // 60:02d}"


def today_for(user: User) -> date:
    return local_now(user).date()


def board(*, channel: Channel, day: date, limit: int = BOARD_SIZE) -> list[BoardRow]:
    """Who punched on `day` (their own local day), earliest first."""
    rows = (
        Punch.objects.filter(channel=channel, local_date=day)
        .order_by("local_seconds", "punched_at")
        .values_list("user__username", "local_seconds", "streak", "post__text")[:limit]
    )
    return [BoardRow(username=u, local_seconds=s, streak=k, note=n) for u, s, k, n in rows]


def board_page(*, channel: Channel, day: date, cursor: str | None = None, size: int = BOARD_SIZE) -> Page[BoardRow]:
    """The board of `day`, earliest first, a page at a time (a busy channel's day has thousands)."""
    punches = Punch.objects.filter(channel=channel, local_date=day).select_related("user", "post")
    page = keyset_page(punches, order=("local_seconds", "punched_at", "pk"), cursor=cursor, size=size, ascending=True)
    return Page(
        items=[
            BoardRow(
                username=p.user.username,
                local_seconds=p.local_seconds,
                streak=p.streak,
                note=p.post.text,
            )
            for p in page.items
        ],
        next=page.next,
    )


def my_punch(*, user: User, channel: Channel, day: date) -> Punch | None:
    return Punch.objects.filter(channel=channel, user=user, local_date=day).select_related("song_post__song").first()


def last_days(*, user: User, channel: Channel, today: date, days: int = 30) -> list[DayPoint]:
    """One point per local day, oldest first; a day without a punch has no time."""
    first = today - timedelta(days=days - 1)
    found = dict(
        Punch.objects.filter(user=user, channel=channel, local_date__gte=first, local_date__lte=today).values_list(
            "local_date", "local_seconds"
        )
    )
    return [
        DayPoint(day=first + timedelta(days=i), local_seconds=found.get(first + timedelta(days=i))) for i in range(days)
    ]


def today_histogram(*, channel: Channel, day: date) -> list[int]:
    """How many punched in each hour of their local day."""
    counts = [0] * 24
    for seconds in Punch.objects.filter(channel=channel, local_date=day).values_list("local_seconds", flat=True):
        counts[seconds // 3600] += 1
    return counts


def week(*, channel: Channel, viewer: User, today: date) -> list[WeekDay]:
    """For the host: punches per day over the last 7 local days, and their average time."""
    if channel.host_id != viewer.pk:
        raise PermissionDenied("not_host", _("Only the channel's host can see this."))
    first = today - timedelta(days=6)
    rows = {
        r["local_date"]: r
        for r in Punch.objects.filter(channel=channel, local_date__gte=first, local_date__lte=today)
        .values("local_date")
        .annotate(count=Count("pk"), average=Avg("local_seconds"))
        .order_by()
    }
    out = []
    for i in range(7):
        day = first + timedelta(days=i)
        row = rows.get(day)
        out.append(
            WeekDay(
                day=day,
                count=row["count"] if row else 0,
                average_seconds=int(row["average"]) if row and row["average"] is not None else None,
            )
        )
    return out


def clock_of(channel: Channel) -> PunchClock | None:
    return PunchClock.objects.filter(channel=channel).first()


def playlist(*, channel: Channel) -> list[PlaylistEntry]:
    return list(PlaylistEntry.objects.filter(channel=channel).select_related("song_post__song").order_by("-added_at"))
