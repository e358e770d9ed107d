"""/reports for everyone; the host's pin, remove and moderation log."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema, Status

from api.auth import AUTH, api_user
from api.schemas import ErrorOut
from interests.selectors import channel_get
from moderation import selectors, services
from posts.selectors import post_get

router = Router(tags=["moderation"], auth=AUTH)

ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class ReportIn(Schema):
    target_kind: str
    target_id: str
    reason: str
    text: str = ""


class ReportOut(Schema):
    id: str
    target_kind: str
    target_id: str
    reason: str
    created_at: datetime


class RemoveIn(Schema):
    reason: str


class LogEntryOut(Schema):
    action: str
    actor: str | None
    subject: str | None
    summary: str
    reason: str
    created_at: datetime


class ReportGroupOut(Schema):
    target_kind: str
    target_id: str
    count: int
    latest: datetime


class ChannelModerationOut(Schema):
    log: list[LogEntryOut]  # newest first, 50 a page
    log_next: str | None = None  # pass as `cursor` for the older entries
    reports: list[ReportGroupOut]  # open reports, grouped by target, the 100 most reported


@router.post("/reports", response={201: ReportOut, **ERRORS})
def report(request: HttpRequest, payload: ReportIn) -> Status[ReportOut]:
    """Flag a post, a person or a channel. The reported never learn who reported them."""
    made = services.report_create(reporter=api_user(request), **payload.model_dump())
    return Status(
        201,
        ReportOut(
            id=made.public_id,
            target_kind=made.target_kind,
            target_id=made.target_id,
            reason=made.reason,
            created_at=made.created_at,
        ),
    )


@router.post("/posts/{post_id}/pin", response={204: None, **ERRORS})
def pin(request: HttpRequest, post_id: str) -> Status[None]:
    services.post_pin(post=post_get(viewer=api_user(request), public_id=post_id), by=api_user(request))
    return Status(204, None)


@router.delete("/posts/{post_id}/pin", response={204: None, **ERRORS})
def unpin(request: HttpRequest, post_id: str) -> Status[None]:
    services.post_unpin(post=post_get(viewer=api_user(request), public_id=post_id), by=api_user(request))
    return Status(204, None)


@router.post("/posts/{post_id}/remove", response={204: None, **ERRORS})
def remove(request: HttpRequest, post_id: str, payload: RemoveIn) -> Status[None]:
    """The host removes a post that breaks the channel's rule; the reason goes to the moderation log."""
    services.post_remove(
        post=post_get(viewer=api_user(request), public_id=post_id), by=api_user(request), reason=payload.reason
    )
    return Status(204, None)


@router.get("/channels/{channel_id}/moderation", response={200: ChannelModerationOut, **ERRORS})
def channel_moderation(request: HttpRequest, channel_id: str, cursor: str | None = None) -> ChannelModerationOut:
    """For the host: the channel's moderation log (a page at a time: `cursor` is the `log_next` of the
    previous answer) and its open reports, grouped by post."""
    me = api_user(request)
    channel = channel_get(viewer=me, public_id=channel_id)
    page = selectors.channel_log_page(channel=channel, viewer=me, cursor=cursor)
    log = page.items
    return ChannelModerationOut(
        log=[
            LogEntryOut(
                action=e.action,
                actor=e.actor.username if e.actor else None,
                subject=e.subject.username if e.subject else None,
                summary=e.summary,
                reason=e.reason,
                created_at=e.created_at,
            )
            for e in log
        ],
        log_next=page.next,
        reports=[ReportGroupOut(**vars(group)) for group in selectors.channel_reports(channel=channel, viewer=me)],
    )
