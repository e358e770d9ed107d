"""/recommendations: channels and posts a person may feel *same* about, "not interested", the switch."""

from django.http import HttpRequest
from ninja import Router, Schema, Status

from api.auth import AUTH, api_user
from api.routers.channels import ChannelOut, channel_out
from api.routers.posts import PostOut, post_out
from api.schemas import ErrorOut
from interests.selectors import channel_get
from posts.selectors import post_get
from recommendations import selectors, services
from recommendations.selectors import Why

router = Router(tags=["recommendations"], auth=AUTH)


class ViaOut(Schema):
    id: str
    name: str


class ReasonFields(Schema):
    reason: str  # one line, in the person's language
    reason_kind: str  # joined | felt_same | popular | active | new
    reason_channel: ViaOut | None  # one of the person's own channels, for joined and felt_same
    reason_category: str


class ChannelPickOut(ReasonFields):
    channel: ChannelOut


class ChannelPickList(Schema):
    items: list[ChannelPickOut]
    next: str | None


class PostPickOut(ReasonFields):
    post: PostOut


class PostPickList(Schema):
    items: list[PostPickOut]
    next: str | None


class NotInterestedIn(Schema):
    channel_id: str | None = None
    post_id: str | None = None


class SettingsIO(Schema):
    personalised: bool


def _via(why: Why) -> ViaOut | None:
    return ViaOut(id=why.via.public_id, name=why.via.name) if why.via is not None else None


@router.get("/recommendations/channels", response={200: ChannelPickList, 401: ErrorOut})
def channels(request: HttpRequest) -> ChannelPickList:
    """Channels the person has not joined, each with a one-line reason; never a person. At most 10, all at
    once: a short list by design (`next` is always null)."""
    me = api_user(request)
    prefs = selectors.prefs_get(user=me)
    services.refresh_if_due(user=me, prefs=prefs)
    picks = selectors.channel_picks(viewer=me, prefs=prefs)
    return ChannelPickList(
        items=[
            ChannelPickOut(
                channel=channel_out(p.channel),
                reason=p.why.text,
                reason_kind=p.why.kind,
                reason_channel=_via(p.why),
                reason_category=p.why.category,
            )
            for p in picks
        ],
        next=None,
    )


@router.get("/recommendations/posts", response={200: PostPickList, 400: ErrorOut, 401: ErrorOut})
def posts(request: HttpRequest, cursor: str | None = None) -> PostPickList:
    """Discover: recent posts of channels the person has not joined, ranked, varied."""
    me = api_user(request)
    prefs = selectors.prefs_get(user=me)
    services.refresh_if_due(user=me, prefs=prefs)
    page = selectors.post_picks(viewer=me, cursor=cursor, prefs=prefs)
    return PostPickList(
        items=[
            PostPickOut(
                post=post_out(p.post),
                reason=p.why.text,
                reason_kind=p.why.kind,
                reason_channel=_via(p.why),
                reason_category=p.why.category,
            )
            for p in page.items
        ],
        next=page.next,
    )


@router.post("/recommendations/not-interested", response={204: None, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut})
def not_interested(request: HttpRequest, payload: NotInterestedIn) -> Status[None]:
    """`channel_id` or `post_id`: it never comes back, and counts against similar channels."""
    me = api_user(request)
    channel = channel_get(viewer=me, public_id=payload.channel_id) if payload.channel_id else None
    post = post_get(viewer=me, public_id=payload.post_id) if payload.post_id and channel is None else None
    services.not_interested_add(user=me, channel=channel, post=post)
    return Status(204, None)


@router.get("/recommendations/settings", response={200: SettingsIO, 401: ErrorOut})
def settings_get(request: HttpRequest) -> SettingsIO:
    return SettingsIO(personalised=selectors.prefs_get(user=api_user(request)).personalised)


@router.put("/recommendations/settings", response={200: SettingsIO, 400: ErrorOut, 401: ErrorOut})
def settings_put(request: HttpRequest, payload: SettingsIO) -> SettingsIO:
    """`personalised: false` — popular and new channels only, nothing learned from the person."""
    prefs = services.prefs_update(user=api_user(request), personalised=payload.personalised)
    return SettingsIO(personalised=prefs.personalised)
