"""Voting posts: a question with 2–10 options, one ballot per person, results after voting or closing."""

from collections.abc import Sequence
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ServiceError, ValidationFailed
from interests.models import Channel, ChannelKind

from .models import Ballot, Poll, PollOption, Post
from .services import check_can_post, post_record

QUESTION_MAX = 300
OPTION_MAX = 120
MIN_OPTIONS, MAX_OPTIONS = 2, 10


class AlreadyVoted(ServiceError):
    status = 409

    def __init__(self) -> None:
        super().__init__("already_voted", _("You already voted on this."))


def _clean_options(options: Sequence[str]) -> list[str]:
    cleaned = [" ".join(option.split()) for option in options]
    cleaned = [option for option in cleaned if option]
    if len(cleaned) < MIN_OPTIONS:
        raise ServiceError("too_few_options", _("Give at least 2 options."), field="options")
    if len(cleaned) > MAX_OPTIONS:
        raise ServiceError("too_many_options", _("At most 10 options."), field="options")
    if any(len(option) > OPTION_MAX for option in cleaned):
        raise ServiceError("too_long", _("An option has at most 120 characters."), field="options")
    if len({option.casefold() for option in cleaned}) != len(cleaned):
        raise ServiceError("duplicate_options", _("Each option must be different."), field="options")
    return cleaned


def post_create_poll(
    *,
    author: User,
    channel: Channel,
    question: str,
    options: Sequence[str],
    multiple: bool = False,
    closes_at: datetime | None = None,
) -> Post:
    check_can_post(author=author, channel=channel, kind=ChannelKind.VOTE)
    errors: dict[str, list[str]] = {}
    clean_question = " ".join(question.split())
    if not clean_question:
        errors["question"] = [_("Ask a question.")]
    elif len(clean_question) > QUESTION_MAX:
        errors["question"] = [_("A question has at most 300 characters.")]
    try:
        clean_options = _clean_options(options)
    except ServiceError as error:
        errors["options"] = [error.message]
    if closes_at is not None and closes_at <= timezone.now():
        errors["closes_at"] = [_("Choose a closing time in the future.")]
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        post = post_record(post=Post(channel=channel, author=author, kind=ChannelKind.VOTE, created_at=timezone.now()))
        poll = Poll.objects.create(post=post, question=clean_question, multiple=multiple, closes_at=closes_at)
        PollOption.objects.bulk_create(
            PollOption(poll=poll, position=position, text=text) for position, text in enumerate(clean_options)
        )
    return post


def poll_is_closed(poll: Poll) -> bool:
    return poll.closes_at is not None and poll.closes_at <= timezone.now()


@transaction.atomic
def poll_vote(*, user: User, post: Post, option_ids: Sequence[str]) -> Poll:
    """Cast one ballot. A second one, from a double tap or another tab, is refused by the database."""
    poll = Poll.objects.select_for_update().filter(post=post).first()
    if poll is None:
        raise ServiceError("not_a_poll", _("There is nothing to vote on here."))
    if poll_is_closed(poll):
        raise ServiceError("poll_closed", _("This vote has closed."), status=409)
    chosen = list(PollOption.objects.filter(poll=poll, public_id__in=set(option_ids)))
    if not option_ids or len(chosen) != len(set(option_ids)):
        raise ServiceError("invalid_option", _("Choose among this question's options."), field="option_ids")
    if not poll.multiple and len(chosen) != 1:
        raise ServiceError("one_option", _("Choose one option."), field="option_ids")
    try:
        with transaction.atomic():
            ballot = Ballot.objects.create(poll=poll, user=user)
    except IntegrityError:
        raise AlreadyVoted() from None
    ballot.options.set(chosen)
    PollOption.objects.filter(pk__in=[o.pk for o in chosen]).update(votes=F("votes") + 1)
    Poll.objects.filter(pk=poll.pk).update(ballot_count=F("ballot_count") + 1)
    poll.refresh_from_db()
    return poll
