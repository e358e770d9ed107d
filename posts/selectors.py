"""Reads on posts: a channel's posts, Home, one post — each shaped once, here."""

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from accounts.models import User
from core.errors import NotFound
from core.pagination import Page, keyset_page
from interests.models import Channel, ChannelKind, Membership

from .models import Ballot, PollOption, Post, Same
from .movies import film_stats

PAGE_SIZE = 20


@dataclass(frozen=True)
class PollView:
    options: list[PollOption]
    my_option_ids: list[str]
    closed: bool
    show_results: bool

    @property
    def total_votes(self) -> int:
        return sum(option.votes for option in self.options)


ORDER = ["created_at", "public_id"]


def _visible(viewer: User | None) -> QuerySet[Post]:
    """Live posts with everything a post card shows, in a fixed number of queries."""
    posts = Post.objects.filter(removed_at__isnull=True, channel__is_closed=False).select_related(
        "channel", "author", "song", "movie", "poll"
    )
    options = PollOption.objects.order_by("position")
    if viewer is not None and viewer.is_authenticated:
        posts = posts.annotate(same_by_me=Exists(Same.objects.filter(post=OuterRef("pk"), user=viewer)))
        chosen = Ballot.options.through.objects.filter(polloption=OuterRef("pk"), ballot__user=viewer)
        options = options.annotate(chosen_by_me=Exists(chosen))
    return posts.prefetch_related("images", Prefetch("poll__options", queryset=options))


def _decorate(posts: list[Post]) -> list[Post]:
    """Attach what a card shows beyond the row: the film's standing in its channel, the poll's state."""
    stats = film_stats(posts)
    now = timezone.now()
    for post in posts:
        if post.pk in stats:
            post.film_others, post.film_average = stats[post.pk]
        poll = getattr(post, "poll", None) if post.kind == ChannelKind.VOTE else None
        if poll is not None:
            options = list(poll.options.all())
            mine = [o.public_id for o in options if getattr(o, "chosen_by_me", False)]
            closed = poll.closes_at is not None and poll.closes_at <= now
            post.poll_view = PollView(
                options=options, my_option_ids=mine, closed=closed, show_results=bool(mine) or closed
            )
    return posts


def _page(queryset: QuerySet[Post], cursor: str | None, size: int) -> Page[Post]:
    page = keyset_page(queryset, order=ORDER, cursor=cursor, size=size)
    return Page(items=_decorate(page.items), next=page.next)


def channel_posts(
    *, viewer: User | None, channel: Channel, cursor: str | None = None, size: int = PAGE_SIZE
) -> Page[Post]:
    return _page(_visible(viewer).filter(channel=channel), cursor, size)


def home_feed(*, user: User, cursor: str | None = None, size: int = PAGE_SIZE) -> Page[Post]:
    """Recent posts of the channels the person joined, newest first. Never a feed of people."""
    joined = Membership.objects.filter(user=user).values("channel_id")
    return _page(_visible(user).filter(channel_id__in=joined), cursor, size)


def post_get(*, viewer: User | None, public_id: str) -> Post:
    post = _visible(viewer).filter(public_id=public_id).first()
    if post is None:
        raise NotFound("No such post.")
    return _decorate([post])[0]


def same_people(*, post: Post, viewer: User) -> list[str]:
    """Who felt the same — for the author's eyes only."""
    if post.author_id != viewer.pk:
        return []
    return list(Same.objects.filter(post=post).order_by("-created_at").values_list("user__username", flat=True)[:200])
