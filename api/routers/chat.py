"""/conversations: knock on a post's author, answer, and talk."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from api.auth import AUTH, api_user
from api.schemas import ErrorOut
from chat import selectors, services
from chat.blocks import block_create, block_remove
from chat.events import message_payload
from chat.models import Conversation, Message, Participant
from core.errors import ServiceError
from moderation.blocks import blocked_usernames
from posts.selectors import post_get

router = Router(tags=["chat"], auth=AUTH)

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 429: ErrorOut}


class KnockIn(Schema):
    post_id: str | None = None
    text: str = ""
    client_id: str = ""
    kind: str = "direct"
    title: str = ""


class MemberOut(Schema):
    username: str


class OriginPostOut(Schema):
    id: str
    channel_id: str
    channel_name: str
    text: str


class ConversationOut(Schema):
    id: str
    kind: str
    state: str
    origin_post: OriginPostOut | None
    members: list[MemberOut]
    unread: int = 0
    last_message_at: datetime


class ConversationList(Schema):
    items: list[ConversationOut]
    next: str | None = None


class SenderOut(Schema):
    username: str | None


class MessageOut(Schema):
    id: str
    seq: int
    sender: SenderOut
    kind: str
    text: str
    sticker: str | None
    audio_url: str | None
    created_at: datetime
    client_id: str


class MessageList(Schema):
    items: list[MessageOut]
    next: str | None = None


class MessageIn(Schema):
    text: str = ""
    client_id: str = ""


class ReadIn(Schema):
    seq: int


class ReadOut(Schema):
    seq: int


def conversation_out(conversation: Conversation, *, unread: int = 0) -> ConversationOut:
    post = conversation.origin_post
    members = Participant.objects.filter(conversation=conversation).select_related("user").order_by("joined_at", "pk")
    return ConversationOut(
        id=conversation.public_id,
        kind=conversation.kind,
        state=conversation.state,
        origin_post=OriginPostOut(
            id=post.public_id, channel_id=post.channel.public_id, channel_name=post.channel.name, text=post.text
        )
        if post is not None
        else None,
        members=[MemberOut(username=p.user.username) for p in members],
        unread=unread,
        last_message_at=conversation.last_message_at,
    )


def _message_out(message: Message) -> MessageOut:
    return MessageOut.model_validate(message_payload(message))


@router.post("/conversations", response={201: ConversationOut, **ERRORS})
def knock(request: HttpRequest, payload: KnockIn) -> Status[ConversationOut]:
    """Approach the author of `post_id`; `text` is the first message. Until they accept, you may send 3 in all."""
    if payload.kind != "direct":
        raise ServiceError(
            "unsupported_kind", "Group chats are not open yet; knock on a post to start a conversation.", field="kind"
        )
    if not payload.post_id:
        raise ServiceError("required", "Say which post: post_id.", field="post_id")
    me = api_user(request)
    conversation, _sent = services.conversation_knock(
        sender=me, post=post_get(viewer=me, public_id=payload.post_id), text=payload.text, client_id=payload.client_id
    )
    return Status(201, conversation_out(conversation))


@router.get("/conversations", response={200: ConversationList, 401: ErrorOut})
def conversations(request: HttpRequest) -> ConversationList:
    """Every conversation you are in, requests included, newest activity first, with unread counts."""
    rows = selectors.conversation_rows(user=api_user(request))
    return ConversationList(items=[conversation_out(r.conversation, unread=r.unread) for r in rows])


@router.post("/conversations/{conversation_id}/accept", response={200: ConversationOut, **ERRORS})
def accept(request: HttpRequest, conversation_id: str) -> ConversationOut:
    me = api_user(request)
    conversation = services.conversation_accept(
        user=me, conversation=services.conversation_for_participant(user=me, conversation_id=conversation_id)
    )
    return conversation_out(conversation)


@router.post("/conversations/{conversation_id}/ignore", response={200: ConversationOut, **ERRORS})
def ignore(request: HttpRequest, conversation_id: str) -> ConversationOut:
    """Hide a request; the person who knocked is not told."""
    me = api_user(request)
    conversation = services.conversation_ignore(
        user=me, conversation=services.conversation_for_participant(user=me, conversation_id=conversation_id)
    )
    return conversation_out(conversation)


@router.get("/conversations/{conversation_id}/messages", response={200: MessageList, **ERRORS})
def messages(request: HttpRequest, conversation_id: str, after: int = 0) -> MessageList:
    """Messages after the sequence number `after`, oldest first; follow `next` for more."""
    if after < 0:
        raise ServiceError("invalid_after", "`after` is 0 or more.", field="after")
    conversation = services.conversation_for_participant(user=api_user(request), conversation_id=conversation_id)
    found = selectors.messages_after(conversation=conversation, after=after, limit=selectors.PAGE + 1)
    more = len(found) > selectors.PAGE
    found = found[: selectors.PAGE]
    return MessageList(items=[_message_out(m) for m in found], next=str(found[-1].seq) if more else None)


@router.post("/conversations/{conversation_id}/messages", response={200: MessageOut, 201: MessageOut, **ERRORS})
def send(request: HttpRequest, conversation_id: str, payload: MessageIn) -> Status[MessageOut]:
    """Send a text. A resend with the same `client_id` answers the first message (200) and writes nothing."""
    me = api_user(request)
    conversation = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    sent = services.message_send(sender=me, conversation=conversation, text=payload.text, client_id=payload.client_id)
    return Status(201 if sent.created else 200, _message_out(sent.message))


@router.post("/conversations/{conversation_id}/read", response={200: ReadOut, **ERRORS})
def read(request: HttpRequest, conversation_id: str, payload: ReadIn) -> ReadOut:
    me = api_user(request)
    conversation = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    return ReadOut(seq=services.conversation_read(user=me, conversation=conversation, seq=payload.seq))


class BlockIn(Schema):
    username: str


class BlockOut(Schema):
    username: str


class BlockList(Schema):
    items: list[BlockOut]
    next: str | None = None


@router.post("/blocks", response={201: BlockOut, **ERRORS})
def block(request: HttpRequest, payload: BlockIn) -> Status[BlockOut]:
    """Block someone: they can no longer knock or message you; your 1:1 conversations with them close."""
    made = block_create(blocker=api_user(request), username=payload.username)
    return Status(201, BlockOut(username=made.blocked.username))


@router.get("/blocks", response={200: BlockList, 401: ErrorOut})
def blocks(request: HttpRequest) -> BlockList:
    return BlockList(items=[BlockOut(username=name) for name in blocked_usernames(user=api_user(request))])


@router.delete("/blocks/{username}", response={204: None, **ERRORS})
def unblock(request: HttpRequest, username: str) -> Status[None]:
    block_remove(blocker=api_user(request), username=username)
    return Status(204, None)
