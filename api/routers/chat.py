"""/conversations: knock on a post's author, answer, talk; groups and their invite links."""

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from accounts.models import User
from api.auth import AUTH, BearerToken, api_user, session
from api.bodies import body_doc, links, merged, read_body
from api.schemas import ErrorOut
from chat import groups, selectors, services
from chat.attachments import message_send_photo, message_send_voice, message_send_without_file
from chat.blocks import block_create, block_remove
from chat.events import message_payload
from chat.models import Conversation, Invite, Message, Participant
from core.errors import NotFound, ServiceError
from interests.selectors import channel_get
from moderation.blocks import blocked_page
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
    role: str


class OriginPostOut(Schema):
    id: str
    channel_id: str
    channel_name: str
    text: str


class ConversationOut(Schema):
    id: str
    kind: str
    state: str
    title: str
    cover_url: str | None
    channel_id: str | None
    origin_post: OriginPostOut | None
    # All of them (a conversation has at most 200), except in the list of conversations: there, the first
    # LIST_MEMBERS in joining order; GET /conversations/{id} has them all. member_count counts everyone.
    members: list[MemberOut]
    member_count: int
    unread: int = 0
    muted: bool = False
    last_message_at: datetime


class ConversationList(Schema):
    items: list[ConversationOut]
    next: str | None = None


class SenderOut(Schema):
    username: str | None


class ImageOut(Schema):
    url: str
    thumb_url: str
    width: int | None
    height: int | None


class ForwardedPostOut(Schema):
    id: str | None
    removed: bool
    kind: str | None
    channel_id: str | None
    channel_name: str | None
    text: str


class StickerInMessageOut(Schema):
    id: str | None
    removed: bool
    image_url: str | None
    audio_url: str | None
    caption: str


class TranscriptOut(Schema):
    """What a voice message says, heard by the server after it was sent (English only by default)."""

    status: Literal["pending", "ready", "failed", "unavailable"]  # ready with "" text: no words were heard
    text: str


class MessageOut(Schema):
    id: str
    seq: int
    sender: SenderOut
    kind: str
    text: str
    sticker: StickerInMessageOut | None
    audio_url: str | None
    audio_seconds: float | None
    transcript: TranscriptOut | None  # voice messages only
    image: ImageOut | None
    post: ForwardedPostOut | None
    created_at: datetime
    client_id: str


class MessageList(Schema):
    items: list[MessageOut]
    next: str | None = None


class MessageIn(Schema):
    text: str = ""
    client_id: str = ""
    post_id: str | None = None
    sticker_id: str | None = None


class ReadIn(Schema):
    seq: int


class ReadOut(Schema):
    seq: int


LIST_MEMBERS = 20  # members shown per conversation in GET /conversations


def conversation_out(
    conversation: Conversation, *, unread: int = 0, viewer: User | None = None, muted: bool | None = None
) -> ConversationOut:
    """A conversation with all its members; or, listed by `conversation_page(members=…)`, with the first of them
    prefetched and `member_count` and `muted` (the viewer's row) read with the page."""
    post = conversation.origin_post
    prefetched: list[Participant] | None = getattr(conversation, "first_members", None)
    members = (
        prefetched
        if prefetched is not None
        else list(conversation.participants.select_related("user").order_by("joined_at", "pk"))
    )
    if muted is None:
        muted = any(p.muted for p in members if viewer is not None and p.user_id == viewer.pk)
    return ConversationOut(
        id=conversation.public_id,
        kind=conversation.kind,
        state=conversation.state,
        title=conversation.title,
        cover_url=conversation.cover_url,
        channel_id=conversation.channel.public_id if conversation.channel else None,
        muted=muted,
        origin_post=OriginPostOut(
            id=post.public_id, channel_id=post.channel.public_id, channel_name=post.channel.name, text=post.text
        )
        if post is not None
        else None,
        members=[MemberOut(username=p.user.username, role=p.role) for p in members],
        member_count=getattr(conversation, "member_count", len(members)),
        unread=unread,
        last_message_at=conversation.last_message_at,
    )


def _message_out(message: Message) -> MessageOut:
    return MessageOut.model_validate(message_payload(message))


KNOCK_MULTIPART = {
    "type": "object",
    "properties": {
        "kind": {"type": "string"},
        "title": {"type": "string"},
        "cover": {"type": "string", "format": "binary"},
    },
}


@router.post(
    "/conversations",
    response={201: ConversationOut, **ERRORS},
    openapi_extra=merged(
        links(
            201,
            "conversation_id",
            GetConversation="api_routers_chat_conversation",
            Messages="api_routers_chat_messages",
            SendMessage="api_routers_chat_send",
            MarkRead="api_routers_chat_read",
            Mute="api_routers_chat_mute",
        ),
        body_doc(KnockIn, multipart=KNOCK_MULTIPART),
    ),
)
def knock(request: HttpRequest) -> Status[ConversationOut]:
    """Approach the author of `post_id` (`text` is the first message; until they accept, you may send 3 in all),
    or start a group: `kind=group` with a `title` (and, as multipart, an optional `cover` picture)."""
    payload = read_body(request, KnockIn)
    me = api_user(request)
    if payload.kind == "group":
        group = groups.group_create(owner=me, title=payload.title, cover=request.FILES.get("cover"))
        return Status(201, conversation_out(group, viewer=me))
    if payload.kind != "direct":
        raise ServiceError("unsupported_kind", _("A conversation is `direct` or `group`."), field="kind")
    if not payload.post_id:
        raise ServiceError("required", _("Say which post: post_id."), field="post_id")
    conversation, _sent = services.conversation_knock(
        sender=me, post=post_get(viewer=me, public_id=payload.post_id), text=payload.text, client_id=payload.client_id
    )
    return Status(201, conversation_out(conversation, viewer=me))


class UnreadOut(Schema):
    unread: int  # messages waiting in conversations that are not muted (the Chats tab's badge)


@router.get("/conversations/unread", response={200: UnreadOut, 401: ErrorOut})
def unread(request: HttpRequest) -> UnreadOut:
    """How many messages wait unread, over every conversation that is not muted."""
    return UnreadOut(unread=selectors.unread_total(user=api_user(request)))


@router.get("/conversations/{conversation_id}", response={200: ConversationOut, **ERRORS})
def conversation(request: HttpRequest, conversation_id: str) -> ConversationOut:
    me = api_user(request)
    found = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    return conversation_out(found, viewer=me)


@router.get("/conversations", response={200: ConversationList, 400: ErrorOut, 401: ErrorOut})
def conversations(request: HttpRequest, cursor: str | None = None) -> ConversationList:
    """Every conversation you are in, requests included, newest activity first, with unread counts; 50 a page,
    follow `next`. Each lists its first 20 members (in joining order) and `member_count`; a conversation's own
    GET lists them all."""
    me = api_user(request)
    rows, next_cursor = selectors.conversation_page(user=me, cursor=cursor, members=LIST_MEMBERS)
    return ConversationList(
        items=[conversation_out(r.conversation, unread=r.unread, viewer=me, muted=r.muted) for r in rows],
        next=next_cursor,
    )


@router.post("/conversations/{conversation_id}/accept", response={200: ConversationOut, **ERRORS})
def accept(request: HttpRequest, conversation_id: str) -> ConversationOut:
    me = api_user(request)
    conversation = services.conversation_accept(
        user=me, conversation=services.conversation_for_participant(user=me, conversation_id=conversation_id)
    )
    return conversation_out(conversation, viewer=me)


@router.post("/conversations/{conversation_id}/ignore", response={200: ConversationOut, **ERRORS})
def ignore(request: HttpRequest, conversation_id: str) -> ConversationOut:
    """Hide a request; the person who knocked is not told."""
    me = api_user(request)
    conversation = services.conversation_ignore(
        user=me, conversation=services.conversation_for_participant(user=me, conversation_id=conversation_id)
    )
    return conversation_out(conversation, viewer=me)


@router.get("/conversations/{conversation_id}/messages", response={200: MessageList, **ERRORS})
def messages(request: HttpRequest, conversation_id: str, after: int = 0, before: int | None = None) -> MessageList:
    """Messages after the sequence number `after`, oldest first; follow `next` for more.

    With `before`, the page of messages just before that number instead (scrolling back), oldest first; `next`
    is then the `before` for the page before it."""
    if after < 0:
        raise ServiceError("invalid_after", _("`after` is 0 or more."), field="after")
    conversation = services.conversation_for_participant(user=api_user(request), conversation_id=conversation_id)
    if before is not None:
        if before < 1:
            raise ServiceError("invalid_before", _("`before` is 1 or more."), field="before")
        found = selectors.messages_before(conversation=conversation, before=before, limit=selectors.PAGE + 1)
        more = len(found) > selectors.PAGE
        found = found[-selectors.PAGE :]
        return MessageList(items=[_message_out(m) for m in found], next=str(found[0].seq) if more else None)
    found = selectors.messages_after(conversation=conversation, after=after, limit=selectors.PAGE + 1)
    more = len(found) > selectors.PAGE
    found = found[: selectors.PAGE]
    return MessageList(items=[_message_out(m) for m in found], next=str(found[-1].seq) if more else None)


MESSAGE_MULTIPART = {
    "type": "object",
    "properties": {
        "text": {"type": "string"},
        "client_id": {"type": "string"},
        "audio": {"type": "string", "format": "binary"},
        "image": {"type": "string", "format": "binary"},
    },
}


class BearerWithConversation(BearerToken):
    """The bearer token and the path's conversation, if its person is in it, read in one query
    (`services.token_and_conversation`) for the send, the hottest request on a conversation: one round trip fewer
    than the token, then the conversation. The view takes the conversation with `_conversation_of`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        match = request.resolver_match
        conversation_id = str(match.kwargs.get("conversation_id", "")) if match is not None else ""
        user, conversation = services.token_and_conversation(secret=token, conversation_id=conversation_id)
        if user is not None:
            vars(request)[_CONVERSATION_READ] = (conversation_id, conversation)
        return self.signed_in(request, user)


_CONVERSATION_READ = "chat_conversation_read"


def _conversation_of(request: HttpRequest, me: User, conversation_id: str) -> Conversation:
    """The conversation of the path if `me` is in it (404 otherwise): the one read with the token, or, signed in
    with the session cookie, looked up now."""
    read: tuple[str, Conversation | None] | None = vars(request).get(_CONVERSATION_READ)
    if read is None or read[0] != conversation_id:
        return services.conversation_for_participant(user=me, conversation_id=conversation_id)
    if read[1] is None:
        raise NotFound(_("No such conversation."))  # the same answer whether it exists or not
    return read[1]


@router.post(
    "/conversations/{conversation_id}/messages",
    response={200: MessageOut, 201: MessageOut, **ERRORS},
    openapi_extra=body_doc(MessageIn, multipart=MESSAGE_MULTIPART),
    auth=[BearerWithConversation(), session],
)
def send(request: HttpRequest, conversation_id: str) -> Status[MessageOut]:
    """Send `text`; or, as multipart, a voice message (`audio`, up to 60 s, any format a browser records) or a
    photo (`image`, with an optional `text` caption); or forward a post (`post_id`). A resend with the same
    `client_id` answers the first message (200) and writes nothing."""
    me = api_user(request)
    conversation = _conversation_of(request, me, conversation_id)
    body = read_body(request, MessageIn)
    audio, image = request.FILES.get("audio"), request.FILES.get("image")
    if audio is not None and not body.sticker_id:
        sent = message_send_voice(sender=me, conversation=conversation, audio=audio, client_id=body.client_id)
    elif image is not None and not body.sticker_id:
        sent = message_send_photo(
            sender=me, conversation=conversation, image=image, client_id=body.client_id, text=body.text
        )
    else:
        sent = message_send_without_file(
            sender=me,
            conversation=conversation,
            client_id=body.client_id,
            text=body.text,
            sticker_id=body.sticker_id or "",
            post_id=body.post_id or "",
        )
    return Status(201 if sent.created else 200, _message_out(sent.message))


@router.post("/conversations/{conversation_id}/read", response={200: ReadOut, **ERRORS})
def read(request: HttpRequest, conversation_id: str, payload: ReadIn) -> ReadOut:
    me = api_user(request)
    conversation = services.conversation_for_participant(user=me, conversation_id=conversation_id)
    return ReadOut(seq=services.conversation_read(user=me, conversation=conversation, seq=payload.seq))


class InviteIn(Schema):
    days: int = 7


class InviteOut(Schema):
    code: str
    url: str
    expires_at: datetime


class InviteList(Schema):
    items: list[InviteOut]
    next: str | None = None


class InvitePreviewOut(Schema):
    code: str
    title: str
    cover_url: str | None
    member_count: int
    members: list[str]
    expires_at: datetime


class MuteIn(Schema):
    muted: bool


class RoleIn(Schema):
    role: str


def _invite_out(request: HttpRequest, invite: Invite) -> InviteOut:
    return InviteOut(
        code=invite.code,
        url=request.build_absolute_uri(reverse("chat:join", args=[invite.code])),
        expires_at=invite.expires_at,
    )


def _mine(request: HttpRequest, conversation_id: str) -> tuple[User, Conversation]:
    me = api_user(request)
    return me, services.conversation_for_participant(user=me, conversation_id=conversation_id)


@router.post("/conversations/{conversation_id}/invites", response={201: InviteOut, **ERRORS})
def invite_create(request: HttpRequest, conversation_id: str, payload: InviteIn) -> Status[InviteOut]:
    """An invite link into a group (owner and admins); it lasts `days` (1, 7 or 30)."""
    me, found = _mine(request, conversation_id)
    return Status(201, _invite_out(request, groups.invite_create(user=me, conversation=found, days=payload.days)))


@router.get("/conversations/{conversation_id}/invites", response={200: InviteList, **ERRORS})
def invites(request: HttpRequest, conversation_id: str, cursor: str | None = None) -> InviteList:
    """The group's open invite links (owner and admins), newest first, 50 a page."""
    me, found = _mine(request, conversation_id)
    groups.invite_create_allowed(user=me, conversation=found)
    page = groups.open_invites_page(conversation=found, cursor=cursor)
    return InviteList(items=[_invite_out(request, i) for i in page.items], next=page.next)


@router.delete("/conversations/{conversation_id}/invites/{code}", response={204: None, **ERRORS})
def invite_revoke(request: HttpRequest, conversation_id: str, code: str) -> Status[None]:
    me, found = _mine(request, conversation_id)
    groups.invite_revoke(user=me, conversation=found, code=code)
    return Status(204, None)


@router.get("/invites/{code}", response={200: InvitePreviewOut, 401: ErrorOut, 404: ErrorOut, 410: ErrorOut})
def invite_preview(request: HttpRequest, code: str) -> InvitePreviewOut:
    """What an invite leads to: the group's name, how many are in it, a few names."""
    invite = groups.invite_get(code=code, viewer=api_user(request))
    group = invite.conversation
    return InvitePreviewOut(
        code=invite.code,
        title=group.title,
        cover_url=group.cover_url,
        member_count=group.participants.count(),
        members=groups.invite_preview_names(invite=invite, viewer=api_user(request)),
        expires_at=invite.expires_at,
    )


@router.post("/invites/{code}/join", response={200: ConversationOut, **ERRORS, 410: ErrorOut})
def invite_join(request: HttpRequest, code: str) -> ConversationOut:
    me = api_user(request)
    return conversation_out(groups.group_join_by_invite(user=me, code=code), viewer=me)


@router.post("/conversations/{conversation_id}/leave", response={204: None, **ERRORS})
def leave(request: HttpRequest, conversation_id: str) -> Status[None]:
    """Leave a group; its messages and events stop reaching you at once."""
    me, found = _mine(request, conversation_id)
    groups.group_leave(user=me, conversation=found)
    return Status(204, None)


@router.post("/conversations/{conversation_id}/mute", response={200: ConversationOut, **ERRORS})
def mute(request: HttpRequest, conversation_id: str, payload: MuteIn) -> ConversationOut:
    """A muted conversation counts towards no badge; its messages still arrive."""
    me, found = _mine(request, conversation_id)
    groups.conversation_mute(user=me, conversation=found, muted=payload.muted)
    return conversation_out(found, viewer=me)


class GroupUpdateIn(Schema):
    title: str


@router.patch("/conversations/{conversation_id}", response={200: ConversationOut, **ERRORS})
def group_update(request: HttpRequest, conversation_id: str, payload: GroupUpdateIn) -> ConversationOut:
    """Rename a group (owner and admins)."""
    me, found = _mine(request, conversation_id)
    groups.group_rename(user=me, conversation=found, title=payload.title)
    return conversation_out(found, viewer=me)


@router.delete("/conversations/{conversation_id}/members/{username}", response={204: None, **ERRORS})
def member_remove(request: HttpRequest, conversation_id: str, username: str) -> Status[None]:
    """Remove someone from a group (owner and admins; only the owner removes admins)."""
    me, found = _mine(request, conversation_id)
    groups.member_remove(by=me, conversation=found, username=username)
    return Status(204, None)


@router.patch("/conversations/{conversation_id}/members/{username}", response={200: MemberOut, **ERRORS})
def member_role(request: HttpRequest, conversation_id: str, username: str, payload: RoleIn) -> MemberOut:
    """Make someone an admin, or a member again (the owner only)."""
    me, found = _mine(request, conversation_id)
    member = groups.member_set_role(by=me, conversation=found, username=username, role=payload.role)
    return MemberOut(username=username, role=member.role)


@router.post("/channels/{channel_id}/group-chat", response={200: ConversationOut, **ERRORS})
def channel_group_chat(request: HttpRequest, channel_id: str) -> ConversationOut:
    """A channel's group chat: its host opens it (once), its members join it."""
    me = api_user(request)
    channel = channel_get(viewer=me, public_id=channel_id)
    if channel.host_id == me.pk:
        found = groups.channel_group_open(host=me, channel=channel)
    else:
        found = groups.channel_group_join(user=me, channel=channel)
    return conversation_out(found, viewer=me)


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


@router.get("/blocks", response={200: BlockList, 400: ErrorOut, 401: ErrorOut})
def blocks(request: HttpRequest, cursor: str | None = None) -> BlockList:
    """The people you blocked, most recent first, 50 a page."""
    page = blocked_page(user=api_user(request), cursor=cursor)
    return BlockList(items=[BlockOut(username=name) for name in page.items], next=page.next)


@router.delete("/blocks/{username}", response={204: None, **ERRORS})
def unblock(request: HttpRequest, username: str) -> Status[None]:
    block_remove(blocker=api_user(request), username=username)
    return Status(204, None)
