"""/categories and /channels: explore, create, join."""

from typing import Annotated

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from api.auth import AUTH, api_user
from api.bodies import body_doc, links, merged, read_body
from api.schemas import ErrorOut
from interests import selectors, services
from interests.categories import CATEGORIES
from interests.models import Channel, ChannelKind

router = Router(tags=["channels"], auth=AUTH)


class CategoryOut(Schema):
    slug: str
    name: str


class CategoryList(Schema):
    items: list[CategoryOut]
    next: str | None = None


class ChannelOut(Schema):
    id: str
    name: str
    description: str
    rule: str
    kind: str
    category: str
    member_count: int
    post_count: int
    joined: bool
    host: str | None
    cover_url: str | None
    created_at: str


class ChannelList(Schema):
    items: list[ChannelOut]
    next: str | None


class ChannelIn(Schema):
    name: str
    description: str = ""
    rule: str = ""
    # The accepted values are listed for clients (and the fuzzer); the service checks them.
    kind: Annotated[str, Field(json_schema_extra={"enum": list(ChannelKind.values)})]
    category: Annotated[str, Field(json_schema_extra={"enum": list(CATEGORIES)})]


def channel_out(channel: Channel) -> ChannelOut:
    return ChannelOut(
        id=channel.public_id,
        name=channel.name,
        description=channel.description,
        rule=channel.rule,
        kind=channel.kind,
        category=channel.category,
        member_count=channel.member_count,
        post_count=channel.post_count,
        joined=bool(getattr(channel, "joined", False)),
        host=channel.host.username if channel.host else None,
        cover_url=channel.cover.url if channel.cover else None,
        created_at=channel.created_at.isoformat(),
    )


@router.get("/categories", response={200: CategoryList, 401: ErrorOut})
def categories(request: HttpRequest) -> CategoryList:
    """The 16 categories, all at once: a fixed list (`next` is always null)."""
    return CategoryList(items=[CategoryOut(slug=slug, name=str(name)) for slug, name in CATEGORIES.items()])


@router.get("/channels", response={200: ChannelList, 400: ErrorOut, 401: ErrorOut})
def channel_list(
    request: HttpRequest, q: str = "", category: str = "", sort: str = "active", cursor: str | None = None
) -> ChannelList:
    page = selectors.channel_list(viewer=api_user(request), q=q, category=category, sort=sort, cursor=cursor)
    return ChannelList(items=[channel_out(c) for c in page.items], next=page.next)


@router.post(
    "/channels",
    response={201: ChannelOut, 400: ErrorOut, 401: ErrorOut},
    openapi_extra=merged(
        links(
            201,
            "channel_id",
            GetChannel="api_routers_channels_channel_get",
            UpdateChannel="api_routers_channels_channel_update",
            JoinChannel="api_routers_channels_join",
            LeaveChannel="api_routers_channels_leave",
            ChannelPosts="api_routers_posts_channel_posts",
            PostInChannel="api_routers_posts_create",
        ),
        body_doc(
            ChannelIn,
            multipart={
                "type": "object",
                "required": ["name", "kind", "category"],
                "properties": {
                    **{name: {"type": "string"} for name in ["name", "description", "rule", "kind", "category"]},
                    "cover": {"type": "string", "format": "binary"},
                },
            },
        ),
    ),
)
def channel_create(request: HttpRequest) -> Status[ChannelOut]:
    """Open a channel (JSON, or multipart with a `cover` image); the creator is its host."""
    body = read_body(request, ChannelIn)
    channel = services.channel_create(host=api_user(request), cover=request.FILES.get("cover"), **body.model_dump())
    channel = selectors.channel_get(viewer=api_user(request), public_id=channel.public_id)
    return Status(201, channel_out(channel))


class ChannelUpdateIn(Schema):
    description: str | None = None
    rule: str | None = None


class TransferIn(Schema):
    username: str


@router.patch(
    "/channels/{channel_id}", response={200: ChannelOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
)
def channel_update(request: HttpRequest, channel_id: str, payload: ChannelUpdateIn) -> ChannelOut:
    """The host changes the channel's description and rule (a field left out keeps its value)."""
    me = api_user(request)
    found = selectors.channel_get(viewer=me, public_id=channel_id)
    services.channel_update(
        channel=found,
        by=me,
        description=found.description if payload.description is None else payload.description,
        rule=found.rule if payload.rule is None else payload.rule,
    )
    return channel_out(selectors.channel_get(viewer=me, public_id=channel_id))


@router.post(
    "/channels/{channel_id}/transfer",
    response={200: ChannelOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def channel_transfer(request: HttpRequest, channel_id: str, payload: TransferIn) -> ChannelOut:
    """The host hands the channel to another member (by username), who becomes its host."""
    me = api_user(request)
    found = selectors.channel_get(viewer=me, public_id=channel_id)
    services.channel_transfer(channel=found, by=me, to_username=payload.username)
    return channel_out(selectors.channel_get(viewer=me, public_id=channel_id))


@router.get("/channels/{channel_id}", response={200: ChannelOut, 401: ErrorOut, 404: ErrorOut})
def channel_get(request: HttpRequest, channel_id: str) -> ChannelOut:
    return channel_out(selectors.channel_get(viewer=api_user(request), public_id=channel_id))


@router.post("/channels/{channel_id}/join", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut})
def join(request: HttpRequest, channel_id: str) -> Status[None]:
    services.channel_join(
        user=api_user(request), channel=selectors.channel_get(viewer=api_user(request), public_id=channel_id)
    )
    return Status(204, None)


@router.delete("/channels/{channel_id}/join", response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut})
def leave(request: HttpRequest, channel_id: str) -> Status[None]:
    services.channel_leave(
        user=api_user(request), channel=selectors.channel_get(viewer=api_user(request), public_id=channel_id)
    )
    return Status(204, None)
