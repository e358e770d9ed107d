"""Writes on posts: say something in a channel, take it back, and press *same*."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.newcomers import is_new_account
from accounts.suspension import ensure_not_suspended
from core.errors import PermissionDenied, ServiceError
from core.ratelimit import rate_limit_hit
from interests.models import Channel, ChannelKind, Membership

from .models import Post, Same

TEXT_MAX = 2000


def _clean_post_text(raw: str, *, required: bool, field: str = "text") -> str:
    text = "\n".join(line.rstrip() for line in raw.replace("\r\n", "\n").strip().split("\n"))
    if required and not text:
        raise ServiceError("required", _("Write something first."), field=field)
    if len(text) > TEXT_MAX:
        raise ServiceError("too_long", _("A post has at most 2,000 characters."), field=field)
    return text


def check_can_post(*, author: User, channel: Channel, kind: str) -> None:
    """The rules every post obeys, whatever its kind."""
    if channel.is_closed:
        raise PermissionDenied("channel_closed", _("This channel is closed."))
    if kind != channel.kind:
        raise ServiceError(
            "wrong_kind",
            _("This channel takes %(kind)s posts.") % {"kind": ChannelKind(channel.kind).label.lower()},
            field="kind",
        )
    if not Membership.objects.filter(channel=channel, user=author).exists():
        raise PermissionDenied("not_member", _("Join the channel to post in it."))
    ensure_not_suspended(author)  # a ban took away the membership checked above


def check_post_rate(*, author: User) -> None:
    """Posts per account and hour, fewer in an account's first day. Counted by the doors (web and API) before
    a post is made, so a flood of attempts is refused before its files are processed."""
    rate_limit_hit(scope="post_account", key=author.public_id)
    if is_new_account(author):
        rate_limit_hit(scope="post_new_account", key=author.public_id)


def post_record(*, post: Post) -> Post:
    """Save a new post and move its channel's counters. Call inside the caller's transaction."""
    post.save()
    Channel.objects.filter(pk=post.channel_id).update(post_count=F("post_count") + 1, last_post_at=post.created_at)
    return post


@transaction.atomic
def post_create_text(*, author: User, channel: Channel, text: str) -> Post:
    check_can_post(author=author, channel=channel, kind=ChannelKind.TEXT)
    clean = _clean_post_text(text, required=True)
    return post_record(
        post=Post(channel=channel, author=author, kind=ChannelKind.TEXT, text=clean, created_at=timezone.now())
    )


@transaction.atomic
def post_delete(*, post: Post, by: User) -> None:
    """Authors take back their own posts; files go with them."""
    if post.author_id != by.pk:
        raise PermissionDenied("not_author", _("Only its author can delete a post."))
    from .files import delete_post_files
    from .movies import film_tally_forget

    delete_post_files(post)
    if post.removed_at is None:
        film_tally_forget(Post.objects.filter(pk=post.pk))
        Channel.objects.filter(pk=post.channel_id).update(post_count=F("post_count") - 1)
    post.delete()


@transaction.atomic
def same_add(*, user: User, post: Post) -> int:
    """Press *same*. Pressing twice counts once (the database holds one row per person and post)."""
    if post.author_id == user.pk:
        raise ServiceError("own_post", _("This is your own post."))
    _same, created = Same.objects.get_or_create(post=post, user=user)
    if created:
        Post.objects.filter(pk=post.pk).update(same_count=F("same_count") + 1)
    return _fresh_count(post)


@transaction.atomic
def same_remove(*, user: User, post: Post) -> int:
    deleted, _count = Same.objects.filter(post=post, user=user).delete()
    if deleted:
        Post.objects.filter(pk=post.pk).update(same_count=F("same_count") - 1)
    return _fresh_count(post)


def _fresh_count(post: Post) -> int:
    count = Post.objects.filter(pk=post.pk).values_list("same_count", flat=True).first()
    post.same_count = count or 0
    return post.same_count
