"""/channels/{id}/posts, /posts/{id}, *same*, and /feed."""

from datetime import datetime

from django.db.models.fields.files import FieldFile
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from api.auth import AUTH, api_user
from api.bodies import body_doc, links, merged, read_body
from api.schemas import ErrorOut
from core.errors import ServiceError
from interests.models import ChannelKind
from interests.selectors import channel_get
from posts import selectors, services
from posts.models import Post
from posts.movies import post_create_movie
from posts.photos import post_create_photos
from posts.polls import poll_vote, post_create_poll
from posts.songs import post_create_song

router = Router(tags=["posts"], auth=AUTH)

READ_ERRORS = {401: ErrorOut, 404: ErrorOut}
WRITE_ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class AuthorOut(Schema):
    username: str


class ImageOut(Schema):
    url: str
    thumb_url: str
    width: int
    height: int


class MusicOut(Schema):
    title: str
    artist: str
    audio_url: str | None
    duration_s: float | None
    cover_url: str | None


class MovieOut(Schema):
    title: str
    year: int | None
    rating: int
    review: str
    poster_url: str | None
    others_count: int
    average_rating: float


class OptionOut(Schema):
    id: str
    text: str
    votes: int | None  # null until the viewer voted or the poll closed


class PollOut(Schema):
    question: str
    multiple: bool
    closes_at: datetime | None
    closed: bool
    options: list[OptionOut]
    total_votes: int | None
    my_option_ids: list[str]


class PostOut(Schema):
    id: str
    kind: str
    channel_id: str
    channel_name: str
    author: AuthorOut
    created_at: datetime
    text: str
    same_count: int
    same_by_me: bool
    images: list[ImageOut] | None = None
    music: MusicOut | None = None
    movie: MovieOut | None = None
    poll: PollOut | None = None


class PostList(Schema):
    items: list[PostOut]
    next: str | None


class ChannelPostList(PostList):
    pinned: PostOut | None = None  # the host's pinned post, on the first page only


class PostIn(Schema):
    """Fields by channel kind — text: text; image: images (files), text; music: title, artist, audio and
    cover (files, optional), text; movie: title, year, rating, review, poster (file, optional);
    vote: question, options, multiple, closes_at."""

    text: str = ""
    title: str = ""
    artist: str = ""
    year: int | str | None = None
    rating: int | str | None = None
    review: str = ""
    question: str = ""
    options: list[str] = []
    multiple: bool = False
    closes_at: datetime | None = None


class VoteIn(Schema):
    option_ids: list[str]


class SameOut(Schema):
    same_count: int


def _url(field_file: FieldFile | None) -> str | None:
    return field_file.url if field_file else None


def _fill_kind(out: PostOut, post: Post) -> PostOut:
    """The part of a post that depends on its kind."""
    if post.kind == ChannelKind.IMAGE:
        images = [
            ImageOut(url=i.image.url, thumb_url=i.thumb.url, width=i.width, height=i.height) for i in post.images.all()
        ]
        out.images = images
    song = getattr(post, "song", None) if post.kind == ChannelKind.MUSIC else None
    if song is not None:
        out.music = MusicOut(
            title=song.title,
            artist=song.artist,
            audio_url=_url(song.audio),
            duration_s=song.duration_s,
            cover_url=_url(song.cover),
        )
    movie = getattr(post, "movie", None) if post.kind == ChannelKind.MOVIE else None
    if movie is not None:
        out.movie = MovieOut(
            title=movie.title,
            year=movie.year,
            rating=movie.rating,
            review=post.text,
            poster_url=_url(movie.poster),
            others_count=getattr(post, "film_others", 0),
            average_rating=getattr(post, "film_average", float(movie.rating)),
        )
    view = getattr(post, "poll_view", None)
    if view is not None:
        poll = post.poll
        out.poll = PollOut(
            question=poll.question,
            multiple=poll.multiple,
            closes_at=poll.closes_at,
            closed=view.closed,
            options=[
                OptionOut(id=o.public_id, text=o.text, votes=o.votes if view.show_results else None)
                for o in view.options
            ],
            total_votes=poll.ballot_count if view.show_results else None,
            my_option_ids=view.my_option_ids,
        )
    return out


def post_out(post: Post) -> PostOut:
    out = PostOut(
        id=post.public_id,
        kind=post.kind,
        channel_id=post.channel.public_id,
        channel_name=post.channel.name,
        author=AuthorOut(username=post.author.username),
        created_at=post.created_at,
        text=post.text,
        same_count=post.same_count,
        same_by_me=bool(getattr(post, "same_by_me", False)),
    )
    return _fill_kind(out, post)


@router.get("/channels/{channel_id}/posts", response={200: ChannelPostList, 400: ErrorOut, **READ_ERRORS})
def channel_posts(request: HttpRequest, channel_id: str, cursor: str | None = None) -> ChannelPostList:
    channel = channel_get(viewer=api_user(request), public_id=channel_id)
    feed = selectors.channel_posts(viewer=api_user(request), channel=channel, cursor=cursor)
    return ChannelPostList(
        items=[post_out(p) for p in feed.page.items],
        next=feed.page.next,
        pinned=post_out(feed.pinned) if feed.pinned else None,
    )


@router.post(
    "/channels/{channel_id}/posts",
    response={201: PostOut, 429: ErrorOut, **WRITE_ERRORS},
    openapi_extra=merged(
        links(
            201,
            "post_id",
            GetPost="api_routers_posts_detail",
            Same="api_routers_posts_same",
            Unsame="api_routers_posts_unsame",
            Vote="api_routers_posts_vote",
            DeletePost="api_routers_posts_delete",
        ),
        body_doc(
            PostIn,
            multipart={
                "type": "object",
                "properties": {
                    **{
                        name: {"type": "string"}
                        for name in [
                            "text",
                            "title",
                            "artist",
                            "year",
                            "rating",
                            "review",
                            "question",
                            "multiple",
                            "closes_at",
                        ]
                    },
                    "options": {"type": "array", "items": {"type": "string"}},
                    "images": {"type": "array", "items": {"type": "string", "format": "binary"}},
                    **{name: {"type": "string", "format": "binary"} for name in ["audio", "cover", "poster"]},
                },
            },
        ),
    ),
)
def create(request: HttpRequest, channel_id: str) -> Status[PostOut]:
    """Post in a channel; what a post may carry depends on the channel's kind (see the body's fields)."""
    me = api_user(request)
    channel = channel_get(viewer=me, public_id=channel_id)
    services.check_post_rate(author=me)
    body = read_body(request, PostIn, lists=("options",))
    files = request.FILES
    if channel.kind == ChannelKind.TEXT:
        post = services.post_create_text(author=me, channel=channel, text=body.text)
    elif channel.kind == ChannelKind.IMAGE:
        post = post_create_photos(author=me, channel=channel, images=files.getlist("images"), text=body.text)
    elif channel.kind == ChannelKind.MUSIC:
        post = post_create_song(
            author=me,
            channel=channel,
            title=body.title,
            artist=body.artist,
            text=body.text,
            audio=files.get("audio"),
            cover=files.get("cover"),
        )
    elif channel.kind == ChannelKind.MOVIE:
        post = post_create_movie(
            author=me,
            channel=channel,
            title=body.title,
            year=body.year,
            rating=body.rating,
            review=body.review,
            poster=files.get("poster"),
        )
    elif channel.kind == ChannelKind.VOTE:
        post = post_create_poll(
            author=me,
            channel=channel,
            question=body.question,
            options=body.options,
            multiple=body.multiple,
            closes_at=body.closes_at,
        )
    else:
        raise ServiceError("no_composer", _("Punch-the-clock channels take punches, not posts."))
    return Status(201, post_out(selectors.post_get(viewer=me, public_id=post.public_id)))


@router.post("/posts/{post_id}/vote", response={200: PostOut, 409: ErrorOut, **WRITE_ERRORS})
def vote(request: HttpRequest, post_id: str, payload: VoteIn) -> PostOut:
    """Cast one ballot; a second one answers 409 `already_voted`."""
    me = api_user(request)
    poll_vote(user=me, post=selectors.post_get(viewer=me, public_id=post_id), option_ids=payload.option_ids)
    return post_out(selectors.post_get(viewer=me, public_id=post_id))


@router.get("/posts/{post_id}", response={200: PostOut, **READ_ERRORS})
def detail(request: HttpRequest, post_id: str) -> PostOut:
    return post_out(selectors.post_get(viewer=api_user(request), public_id=post_id))


@router.delete("/posts/{post_id}", response={204: None, **WRITE_ERRORS})
def delete(request: HttpRequest, post_id: str) -> Status[None]:
    services.post_delete(post=selectors.post_get(viewer=api_user(request), public_id=post_id), by=api_user(request))
    return Status(204, None)


@router.post("/posts/{post_id}/same", response={200: SameOut, **WRITE_ERRORS})
def same(request: HttpRequest, post_id: str) -> SameOut:
    post = selectors.post_get(viewer=api_user(request), public_id=post_id)
    return SameOut(same_count=services.same_add(user=api_user(request), post=post))


@router.delete("/posts/{post_id}/same", response={200: SameOut, **WRITE_ERRORS})
def unsame(request: HttpRequest, post_id: str) -> SameOut:
    post = selectors.post_get(viewer=api_user(request), public_id=post_id)
    return SameOut(same_count=services.same_remove(user=api_user(request), post=post))


@router.get("/feed", response={200: PostList, 400: ErrorOut, 401: ErrorOut})
def feed(request: HttpRequest, cursor: str | None = None) -> PostList:
    """Recent posts of the channels one joined, newest first."""
    page = selectors.home_feed(user=api_user(request), cursor=cursor)
    return PostList(items=[post_out(p) for p in page.items], next=page.next)
