"""/stickers: make one from your photo (and voice), keep a collection, order it, save one someone sent you."""

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from api.auth import AUTH, api_user
from api.bodies import body_doc, links, merged, read_body
from api.schemas import ErrorOut
from chat.attachments import sticker_save_from_chat
from core.errors import ValidationFailed
from stickers import selectors, services
from stickers.models import Sticker
from stickers.rendering import Crop

router = Router(tags=["stickers"], auth=AUTH)

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut}


class StickerOut(Schema):
    id: str
    status: str  # processing (listening to the voice) | ready | failed (no caption from the voice)
    caption: str
    transcript: str
    image_url: str
    audio_url: str | None
    audio_seconds: float | None
    mine: bool


class StickerList(Schema):
    items: list[StickerOut]
    next: str | None = None


class StickerIn(Schema):
    caption: str = ""
    crop_x: int | None = None
    crop_y: int | None = None
    crop_size: int | None = None


class CaptionIn(Schema):
    caption: str


class OrderIn(Schema):
    order: list[str]


def sticker_out(sticker: Sticker, viewer_id: int) -> StickerOut:
    return StickerOut(
        id=sticker.public_id,
        status=sticker.status,
        caption=sticker.caption,
        transcript=sticker.transcript,
        image_url=sticker.image_url,
        audio_url=sticker.audio_url,
        audio_seconds=sticker.audio_seconds,
        mine=sticker.owner_id == viewer_id,
    )


def _crop(body: StickerIn) -> Crop | None:
    given = [body.crop_x, body.crop_y, body.crop_size]
    if all(value is None for value in given):
        return None
    if body.crop_x is None or body.crop_y is None or body.crop_size is None:
        raise ValidationFailed(
            {"crop": [_("Send crop_x, crop_y and crop_size together (pixels of the upright photo).")]}
        )
    return Crop(body.crop_x, body.crop_y, body.crop_size)


@router.post(
    "/stickers",
    response={202: StickerOut, **ERRORS},
    openapi_extra=merged(
        links(
            202,
            "sticker_id",
            GetSticker="api_routers_stickers_detail",
            Caption="api_routers_stickers_caption",
            DeleteSticker="api_routers_stickers_remove",
            SaveSticker="api_routers_stickers_save",
        ),
        body_doc(
            StickerIn,
            multipart={
                "type": "object",
                "required": ["image"],
                "properties": {
                    "image": {"type": "string", "format": "binary"},
                    "audio": {"type": "string", "format": "binary"},
                    "caption": {"type": "string"},
                    "crop_x": {"type": "integer"},
                    "crop_y": {"type": "integer"},
                    "crop_size": {"type": "integer"},
                },
            },
        ),
    ),
)
def create(request: HttpRequest) -> Status[StickerOut]:
    """Make a sticker (multipart): `image`, the square to cut (`crop_x`, `crop_y`, `crop_size`, in pixels of the
    upright photo; the centre square if left out), an optional `caption` and an optional voice clip `audio`
    (at most 10 s). With a clip and no caption, `status` is `processing` until the voice is heard and its words
    become the caption (`sticker.ready` over the WebSocket, or ask GET /stickers/{id})."""
    me = api_user(request)
    body = read_body(request, StickerIn)
    sticker = services.sticker_create(
        owner=me,
        image=request.FILES.get("image"),
        caption=body.caption,
        audio=request.FILES.get("audio"),
        crop=_crop(body),
    )
    return Status(202, sticker_out(sticker, me.pk))


@router.get("/stickers", response={200: StickerList, 400: ErrorOut, 401: ErrorOut})
def mine(request: HttpRequest, cursor: str | None = None) -> StickerList:
    """Your collection, in your order: the stickers you made and the ones you saved, 60 a page;
    pass `next` as `cursor` for the following page."""
    me = api_user(request)
    page = selectors.collection_page(user=me, cursor=cursor)
    return StickerList(items=[sticker_out(s, me.pk) for s in page.items], next=page.next)


@router.put("/stickers/order", response={200: OrderIn, **ERRORS})
def reorder(request: HttpRequest, payload: OrderIn) -> OrderIn:
    """Put your collection in this order (ids first to last); any not named follow in their old order."""
    return OrderIn(order=services.sticker_reorder(user=api_user(request), order=payload.order))


@router.get("/stickers/{sticker_id}", response={200: StickerOut, **ERRORS})
def detail(request: HttpRequest, sticker_id: str) -> StickerOut:
    me = api_user(request)
    return sticker_out(services.sticker_get(viewer=me, public_id=sticker_id), me.pk)


@router.patch("/stickers/{sticker_id}", response={200: StickerOut, **ERRORS})
def caption(request: HttpRequest, sticker_id: str, payload: CaptionIn) -> StickerOut:
    """Change the caption of a sticker you made; the picture is drawn again."""
    me = api_user(request)
    sticker = services.sticker_get(viewer=me, public_id=sticker_id)
    return sticker_out(services.sticker_caption_update(user=me, sticker=sticker, caption=payload.caption), me.pk)


@router.delete("/stickers/{sticker_id}", response={204: None, **ERRORS})
def remove(request: HttpRequest, sticker_id: str) -> Status[None]:
    """Take a sticker out of your collection (stickers already sent stay in their chats)."""
    me = api_user(request)
    services.sticker_remove(user=me, sticker=services.sticker_get(viewer=me, public_id=sticker_id))
    return Status(204, None)


@router.post("/stickers/{sticker_id}/save", response={201: StickerOut, **ERRORS})
def save(request: HttpRequest, sticker_id: str) -> Status[StickerOut]:
    """Keep a sticker someone sent you in a chat (a reference to it, not a copy)."""
    me = api_user(request)
    return Status(201, sticker_out(sticker_save_from_chat(user=me, sticker_id=sticker_id), me.pk))
