"""/channels/{id}/punch, the day's board, your records, and the host's clock and playlist."""

from datetime import date, datetime, time
from datetime import date as date_type

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from accounts.models import User
from api.auth import AUTH, api_user
from api.bodies import body_doc, read_body
from api.schemas import ErrorOut
from core.errors import ServiceError
from interests.models import Channel, ChannelKind
from interests.selectors import channel_get
from posts.selectors import post_get
from punches import selectors, services

router = Router(tags=["punch the clock"], auth=AUTH)


class PunchIn(Schema):
    note: str = ""


class SongOut(Schema):
    post_id: str
    title: str
    artist: str
    audio_url: str | None


class PunchOut(Schema):
    punched_at: datetime
    local_date: date
    local_time: str
    streak: int
    rank: int
    percentile: int
    song: SongOut | None


class BoardRowOut(Schema):
    username: str
    local_time: str
    streak: int
    note: str


class BoardOut(Schema):
    date: date
    items: list[BoardRowOut]
    next: str | None = None


@router.post(
    "/channels/{channel_id}/punch",
    response={201: PunchOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    openapi_extra=body_doc(
        PunchIn,
        multipart={
            "type": "object",
            "properties": {"note": {"type": "string"}, "photo": {"type": "string", "format": "binary"}},
        },
    ),
)
def punch(request: HttpRequest, channel_id: str) -> Status[PunchOut]:
    """Punch in for today (your own local day); a song is drawn for you. Twice a day: 409 `already_punched`."""
    me = api_user(request)
    body = read_body(request, PunchIn)
    channel = selectors.punch_channel_get(viewer=me, public_id=channel_id)
    result = services.punch_in(user=me, channel=channel, note=body.note, photo=request.FILES.get("photo"))
    punch = result.punch
    song = result.song
    return Status(
        201,
        PunchOut(
            punched_at=punch.punched_at,
            local_date=punch.local_date,
            local_time=f"{punch.local_seconds // 3600:02d}:{punch.local_seconds % 3600 // 60:02d}",
            streak=punch.streak,
            rank=punch.rank,
            percentile=result.percentile,
            song=SongOut(
                post_id=song.post.public_id,
                title=song.title,
                artist=song.artist,
                audio_url=song.audio.url if song.audio else None,
            )
            if song
            else None,
        ),
    )


def _day(me: User, date: str | None) -> date_type:
    try:
        return datetime.strptime(date, "%Y-%m-%d").date() if date else selectors.today_for(me)
    except ValueError:
        raise ServiceError("invalid_date", _("Write the date as YYYY-MM-DD."), field="date") from None


def _clock(seconds: int | None) -> str | None:
    return None if seconds is None else f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"


@router.get("/channels/{channel_id}/punches", response={200: BoardOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut})
def punches(request: HttpRequest, channel_id: str, date: str | None = None, cursor: str | None = None) -> BoardOut:
    """The board of a day (YYYY-MM-DD; today, your time, by default): who punched, earliest first,
    100 a page; pass `next` as `cursor` for the following page."""
    me = api_user(request)
    channel = channel_get(viewer=me, public_id=channel_id)
    day = _day(me, date)
    page = selectors.board_page(channel=channel, day=day, cursor=cursor)
    return BoardOut(
        date=day,
        items=[BoardRowOut(username=r.username, local_time=r.clock, streak=r.streak, note=r.note) for r in page.items],
        next=page.next,
    )


class MyPunchOut(Schema):
    local_time: str
    streak: int
    note: str


class DayOut(Schema):
    date: date_type
    local_time: str | None  # None: no punch that day


class WeekDayOut(Schema):
    date: date_type
    count: int
    average_time: str | None


class RecordsOut(Schema):
    today: date_type
    my_punch: MyPunchOut | None
    history: list[DayOut]  # your last 30 local days, oldest first (bounded)
    hours: list[int]  # today's punches per hour of their local day: 24 numbers
    week: list[WeekDayOut] | None  # for the host: the last 7 days (bounded); None for everyone else


def _punch_channel(me: User, channel_id: str) -> Channel:
    channel = channel_get(viewer=me, public_id=channel_id)
    if channel.kind != ChannelKind.PUNCH:
        raise ServiceError("wrong_kind", _("This channel has no clock to punch."), status=404)
    return channel


@router.get("/channels/{channel_id}/records", response={200: RecordsOut, 401: ErrorOut, 404: ErrorOut})
def records(request: HttpRequest, channel_id: str) -> RecordsOut:
    """Your punch records in a punch channel: today's punch, your last 30 days, today's hours (the
    web's Records page)."""
    me = api_user(request)
    channel = _punch_channel(me, channel_id)
    today = selectors.today_for(me)
    mine = selectors.my_punch(user=me, channel=channel, day=today)
    week = selectors.week(channel=channel, viewer=me, today=today) if channel.host_id == me.pk else None
    return RecordsOut(
        today=today,
        my_punch=MyPunchOut(local_time=_clock(mine.local_seconds) or "", streak=mine.streak, note=mine.post.text)
        if mine
        else None,
        history=[
            DayOut(date=d.day, local_time=_clock(d.local_seconds))
            for d in selectors.last_days(user=me, channel=channel, today=today)
        ],
        hours=selectors.today_histogram(channel=channel, day=today),
        week=[WeekDayOut(date=w.day, count=w.count, average_time=w.average_clock or None) for w in week]
        if week is not None
        else None,
    )


class ClockIn(Schema):
    window_start: time | None = None  # HH:MM, both or neither
    window_end: time | None = None
    prompt: str = ""


class PlaylistSongOut(Schema):
    post_id: str
    title: str
    artist: str


class ClockOut(Schema):
    window_start: time | None
    window_end: time | None
    prompt: str
    playlist: list[PlaylistSongOut]  # the host's picks, newest first (the songs punches draw from; 100 at most)


def _clock_out(channel: Channel) -> ClockOut:
    clock = selectors.clock_of(channel)
    return ClockOut(
        window_start=clock.window_start if clock else None,
        window_end=clock.window_end if clock else None,
        prompt=clock.prompt if clock else "",
        playlist=[
            PlaylistSongOut(post_id=e.song_post.public_id, title=e.song_post.song.title, artist=e.song_post.song.artist)
            for e in selectors.playlist(channel=channel)
        ],
    )


@router.get("/channels/{channel_id}/clock", response={200: ClockOut, 401: ErrorOut, 404: ErrorOut})
def clock(request: HttpRequest, channel_id: str) -> ClockOut:
    """A punch channel's clock: the window punches are open in, the prompt, the playlist."""
    return _clock_out(_punch_channel(api_user(request), channel_id))


@router.put(
    "/channels/{channel_id}/clock", response={200: ClockOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
)
def clock_update(request: HttpRequest, channel_id: str, payload: ClockIn) -> ClockOut:
    """The host sets the window (both ends or neither) and the prompt."""
    me = api_user(request)
    channel = _punch_channel(me, channel_id)
    services.clock_update(
        channel=channel, by=me, window_start=payload.window_start, window_end=payload.window_end, prompt=payload.prompt
    )
    return _clock_out(channel)


@router.put(
    "/channels/{channel_id}/playlist/{post_id}",
    response={204: None, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def playlist_add(request: HttpRequest, channel_id: str, post_id: str) -> Status[None]:
    """The host adds the song of a music post (anywhere on the site) to the channel's playlist, which holds
    100 songs at most (400 `playlist_full`)."""
    me = api_user(request)
    channel = _punch_channel(me, channel_id)
    services.playlist_add(channel=channel, by=me, song_post=post_get(viewer=me, public_id=post_id))
    return Status(204, None)


@router.delete(
    "/channels/{channel_id}/playlist/{post_id}",
    response={204: None, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def playlist_remove(request: HttpRequest, channel_id: str, post_id: str) -> Status[None]:
    me = api_user(request)
    channel = _punch_channel(me, channel_id)
    services.playlist_remove(channel=channel, by=me, song_post=post_get(viewer=me, public_id=post_id))
    return Status(204, None)
