"""/channels/{id}/punch and /channels/{id}/punches."""

from datetime import date, datetime

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from api.auth import AUTH, api_user
from api.bodies import body_doc, read_body
from api.schemas import ErrorOut
from core.errors import ServiceError
from interests.selectors import channel_get
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


@router.get("/channels/{channel_id}/punches", response={200: BoardOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut})
def punches(request: HttpRequest, channel_id: str, date: str | None = None) -> BoardOut:
    """The board of a day (YYYY-MM-DD; today, your time, by default): who punched, earliest first."""
    me = api_user(request)
    channel = channel_get(viewer=me, public_id=channel_id)
    try:
        day = datetime.strptime(date, "%Y-%m-%d").date() if date else selectors.today_for(me)
    except ValueError:
        raise ServiceError("invalid_date", _("Write the date as YYYY-MM-DD."), field="date") from None
    rows = selectors.board(channel=channel, day=day)
    return BoardOut(
        date=day,
        items=[BoardRowOut(username=r.username, local_time=r.clock, streak=r.streak, note=r.note) for r in rows],
    )
