"""Reads on posts: a channel's posts, Home, one post — each shaped once, here."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import rawsql
from core.errors import NotFound
from core.pagination import Page, cursor_of, cursor_values, keyset_merge, keyset_page
from interests.models import Channel, ChannelKind, Membership

from .models import Ballot, BallotChoice, FilmTally, Movie, PollOption, Post, PostImage, Same
from .movies import film_standing, film_stats

PAGE_SIZE = 20


@dataclass(frozen=True)
class PollView:
    options: list[PollOption]
    my_option_ids: list[str]
    closed: bool
    show_results: bool


ORDER = ["created_at", "public_id"]


def visible_posts(viewer: User | None) -> QuerySet[Post]:
    """Live posts, with their channel and author joined in (every list of post cards starts here,
    Discover included). The kind-specific rows (song, film, poll,
    punch) come in `decorate_posts`, for the page only: joining them here made PostgreSQL plan an 8-table
    join on every page (20 ms of planning for 4 ms of execution)."""
    return Post.objects.filter(removed_at__isnull=True, channel__is_closed=False).select_related("channel", "author")


# The one-to-one rows a card of each kind shows.
SIDE_ROWS: dict[str, str] = {
    ChannelKind.MUSIC: "song",
    ChannelKind.MOVIE: "movie",
    ChannelKind.VOTE: "poll",
    ChannelKind.PUNCH: "punch",
}


def _marks(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _rows_of_posts[T: Model](model: type[T], post_ids: list[int], *, order: str = "") -> list[T]:
    """`model`'s rows of these posts, by a written SELECT (core/rawsql.py): the ORM spent ~2 ms of CPU
    building and compiling each of these little queries, which run in 0.1 ms (core/rawsql.py says more)."""
    table = model._meta.db_table
    sql = f"SELECT {rawsql.select_list(model, 'r')} FROM {table} r WHERE post_id IN ({_marks(post_ids)})"  # noqa: S608  (names from the model)
    rows = rawsql.fetch_all(sql + (f" ORDER BY {order}" if order else ""), post_ids)
    return [row for row in (rawsql.instance(model, values) for values in rows) if row is not None]


def _attach_side_rows(posts: list[Post], joined: frozenset[str] = frozenset()) -> None:
    """One query per kind present on the page; every other post learns it has none (no lazy loads). `joined`: the
    side rows the page's query already brought (and cached on its posts). A row is not given its post back: see
    `_post_with_author`."""
    for kind, name in SIDE_ROWS.items():
        if name in joined:
            continue
        related = getattr(Post, name).related
        ids = [post.pk for post in posts if post.kind == kind]
        found = {row.post_id: row for row in _rows_of_posts(related.related_model, ids)} if ids else {}
        for post in posts:
            # no pk read when none was found (a channel has one kind)
            related.set_cached_value(post, found.get(post.pk) if found else None)


def _attach_same_by_me(posts: list[Post], viewer: User | None) -> None:
    """Which of these posts the viewer pressed *same* on: their rows for this page's posts only."""
    pressed: set[int] = set()
    if viewer is not None and viewer.is_authenticated and posts:
        ids = [p.pk for p in posts]
        sql = f"SELECT post_id FROM {Same._meta.db_table} WHERE user_id = %s AND post_id IN ({_marks(ids)})"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [viewer.pk, *ids])
            pressed = {row[0] for row in cursor.fetchall()}
    for post in posts:
        post.same_by_me = post.pk in pressed


# The kinds whose posts carry photos (a photo post's 1–9, a punch's optional one).
PHOTO_KINDS = {ChannelKind.IMAGE, ChannelKind.PUNCH}


def _prefetched[T: Model](instance: Model, name: str, model: type[T], rows: list[T]) -> None:
    """Give `instance.<name>.all()` these rows, as prefetch_related does, without building the
    relation's filtered queryset for each instance (~0.1 ms each): the rows sit on an empty queryset
    of `model`, so a further `.filter()` on it finds nothing rather than another instance's rows."""
    queryset: QuerySet[T] = QuerySet(model=model, query=_empty_query(model))
    queryset._result_cache = rows
    setattr(queryset, "_prefetch_done", True)  # noqa: B010  (Django's own flag, unknown to the stubs)
    cache: dict[str, Any] = getattr(instance, "_prefetched_objects_cache", None) or {}
    cache[name] = queryset
    setattr(instance, "_prefetched_objects_cache", cache)  # noqa: B010  (as prefetch_related_objects sets it)


def _hand_out[T: Model](parents: Sequence[Model], name: str, model: type[T], found: dict[int, list[T]]) -> None:
    """Give each parent its rows of `found` (by its pk) as `parent.<name>.all()`: what prefetch_related leaves
    behind, without its machinery — but a row is not given its parent back (`image.post`, `option.poll` would be read
    from the database; no page asks), which would make a reference cycle of each (`_post_with_author`)."""
    for parent in parents:
        _prefetched(parent, name, model, found.get(parent.pk, []))


_empty_queries: dict[type[Model], Any] = {}


def _empty_query(model: type[Model]) -> Any:
    """One matches-nothing query per model, shared: a queryset copies its query before changing it."""
    query = _empty_queries.get(model)
    if query is None:
        query = _empty_queries[model] = model._default_manager.none().query
    return query


def _attach_photos(posts: list[Post]) -> None:
    """The photos of the page's photo and punch posts, in one query (none when there are none); every
    other post learns it has none. Cheaper than prefetch_related's machinery, and no query for a page of
    films or songs."""
    ids = [post.pk for post in posts if post.kind in PHOTO_KINDS]
    found: dict[int, list[PostImage]] = {}
    for image in _rows_of_posts(PostImage, ids, order="post_id, position") if ids else []:
        found.setdefault(image.post_id, []).append(image)
    _hand_out(posts, "images", PostImage, found)


def _attach_poll_options(posts: list[Post], viewer: User | None) -> None:
    """The options of the page's polls, with whether the viewer chose each: one query when polls are there, written
    out (core/rawsql.py: the ORM spent ~1.5 ms of CPU building it)."""
    polls = [poll for post in posts if post.kind == ChannelKind.VOTE and (poll := getattr(post, "poll", None))]
    if not polls:
        return
    chosen = viewer is not None and viewer.is_authenticated
    ids = [poll.pk for poll in polls]
    mine = (
        f", EXISTS (SELECT 1 FROM {BallotChoice._meta.db_table} bo"  # noqa: S608  (names from the models)
        f" JOIN {Ballot._meta.db_table} b ON b.id = bo.ballot_id WHERE b.user_id = %s AND bo.polloption_id = o.id)"
    )
    sql = (
        f"SELECT {rawsql.select_list(PollOption, 'o')}{mine if chosen else ''} FROM {PollOption._meta.db_table} o"  # noqa: S608
        f" WHERE o.poll_id IN ({_marks(ids)}) ORDER BY o.poll_id, o.position"
    )
    found: dict[int, list[PollOption]] = {}
    for row in rawsql.fetch_all(sql, [viewer.pk, *ids] if chosen and viewer is not None else ids):
        option = rawsql.instance(PollOption, row)
        assert option is not None
        if chosen:
            option.chosen_by_me = bool(row[-1])  # type: ignore[attr-defined]  # as the ORM's annotation was named
        found.setdefault(option.poll_id, []).append(option)
    _hand_out(polls, "options", PollOption, found)


def decorate_posts(posts: list[Post], viewer: User | None, *, joined: frozenset[str] = frozenset()) -> list[Post]:
    """Fetch, for all cards at once, what they show beyond the row: the kind's own row, photos, poll
    options (and the viewer's choices), the film's standing in its channel, whether the viewer pressed
    *same*. A fixed number of queries per page, whatever its size. `joined`: what the page's own query already
    brought — a side row's name ("movie": with the films' standings), "same", "images" — which is not read again."""
    _attach_side_rows(posts, joined)
    if "same" not in joined:
        _attach_same_by_me(posts, viewer)
    if "images" not in joined:
        _attach_photos(posts)
    _attach_poll_options(posts, viewer)
    stats = film_stats(posts) if "movie" not in joined else {}
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


@dataclass(frozen=True)
class ChannelFeed:
    pinned: Post | None
    page: Page[Post]


# What the channel page's query brings with each post besides the post and its author (a channel has one kind, so
# its posts' own rows can be joined): the kind's side row, a film's tally, whether the viewer pressed *same*.
def _side_model(kind: str) -> Any:
    """The model of the side row of a post of this kind (a song, a film, a punch), or None."""
    name = SIDE_ROWS.get(kind)
    return getattr(Post, name).related.related_model if name else None


# What a card shows of a post's author: the name. The channel page's query reads only these of the author's row (the
# rest deferred, as `.only()` leaves them): 16 columns fewer to decode, 21 rows a page, and no one's email, password
# hash or settings held for a page that shows their name.
AUTHOR_FIELDS = ("id", "username")


@cache
def _channel_posts_sql(*, after: bool, with_pinned: bool, kind: str = "", same: bool = False) -> str:
    """The page of a channel's live unpinned posts newest first (bounded by the cursor's row when `after`),
    and on the first page the pinned post before them (`UNION ALL`; a channel has at most one), each with its
    author (as select_related, its name only: `AUTHOR_FIELDS`). The first column says which part a row comes from. Then, for a channel of
    music, films, polls or punches, each post's row of that kind (LEFT JOIN: NULLs when it has none); for
    films, the film's tally in the channel (two columns, NULL without one); with `same`, whether the viewer
    (the first parameter) pressed *same* on it; for photos and punches, the post's photos (`_photos_column`). Each was
    a query of its own (~0.15–0.3 ms of CPU each, and a
    round trip). The posts are chosen first and joined once: joining in each part of the UNION doubled
    PostgreSQL's planning (1.5 ms against 0.5 ms, at 1M posts)."""
    columns = f"p.part, {rawsql.select_list(Post, 'p')}, {rawsql.select_only(User, 'u', AUTHOR_FIELDS)}"
    joins = ""
    side = _side_model(kind)
    if side is not None:
        columns += f", {rawsql.select_list(side, 's')}"
        joins += f" LEFT JOIN {side._meta.db_table} s ON s.post_id = p.id"
    if side is Movie:
        columns += ", t.posts, t.stars"
        joins += (
            f" LEFT JOIN {FilmTally._meta.db_table} t ON t.channel_id = p.channel_id AND t.title_key = s.title_key"
            " AND t.year = COALESCE(s.year, 0)"
        )
    if same:
        same_sql = f"SELECT 1 FROM {Same._meta.db_table} m WHERE m.post_id = p.id AND m.user_id = %s"  # noqa: S608
        columns += f", EXISTS ({same_sql})"
    if kind in PHOTO_KINDS:
        columns += f", {_photos_column()}"
    live = "FROM posts_post q WHERE q.channel_id = %s AND q.removed_at IS NULL"
    page = (
        f"SELECT 1 AS part, q.* {live} AND q.pinned_at IS NULL"
        + (" AND (q.created_at, q.public_id) < (%s, %s)" if after else "")
        + " ORDER BY q.created_at DESC, q.public_id DESC LIMIT %s"
    )
    chosen = page
    if with_pinned:  # each part a subquery of its own: SQLite takes no ORDER BY or LIMIT in a part of a UNION
        pinned = f"SELECT 0 AS part, q.* {live} AND q.pinned_at IS NOT NULL"
        chosen = f"SELECT * FROM ({pinned}) AS pinned UNION ALL SELECT * FROM ({page}) AS page"  # noqa: S608
    return (
        f"SELECT {columns} FROM ({chosen}) AS p JOIN accounts_user u ON u.id = p.author_id{joins}"  # noqa: S608  (from the models)
        " ORDER BY p.part, p.created_at DESC, p.public_id DESC"
    )


def _photos_column() -> str:
    """A post's photos as one column: a JSON array of each photo's row (its concrete fields in `select_list`'s order),
    or NULL / `[]` without any (PostgreSQL's json_agg / SQLite's json_group_array), as text. A query of their own was a round
    trip and ~0.25 ms of CPU on a page of photo cards. Unordered: `_photos_of` sorts them by position (SQLite 3.40
    takes no ORDER BY inside an aggregate)."""
    fields = rawsql.select_list(PostImage, "i")
    table = PostImage._meta.db_table
    if (
        connection.vendor == "postgresql"
    ):  # as text: psycopg's json loader reads bytes (json.loads then guesses their encoding)
        return f"(SELECT json_agg(json_build_array({fields}))::text FROM {table} i WHERE i.post_id = p.id)"  # noqa: S608  (names from the model)
    return f"(SELECT json_group_array(json_array({fields})) FROM {table} i WHERE i.post_id = p.id)"  # noqa: S608


def _photos_of(post: Post, value: Any) -> None:
    """Give `post.images.all()` the photos of `_photos_column`'s value, in position order, as `_attach_photos` would
    have — but a photo is not given its post back (`image.post` would be read from the database; nothing on the page
    asks): see `_post_with_author`."""
    images = [image for row in (json.loads(value) if value else []) if (image := rawsql.instance(PostImage, row))]
    if len(images) > 1:
        images.sort(key=_position)
    _prefetched(post, "images", PostImage, images)


_position = attrgetter("position")


def _post_with_author(row: tuple[Any, ...], channel: Channel, *, kind: str = "", same: bool = False) -> Post:
    """A row of `_channel_posts_sql` as the post, its author and channel cached on it, and what else the query
    brought (`kind`, `same`: as the query was written) put where `decorate_posts` would have put it.

    The post's own rows (its song, film or punch, its photos) are not given the post back (`movie.post` would be read
    from the database; the page never asks): a post and its rows pointing at each other are a reference cycle, left
    to the garbage collector rather than freed with the response — 20 posts and ~60 rows a page, each with a Django
    ModelState, whose finalizer (`__del__`, Django 6.1) makes collecting them dear: ~0.5 ms a collection, one every
    four pages (docs/performance.md)."""
    post = rawsql.instance(Post, row, 1)
    assert post is not None
    at = 1 + rawsql.width(Post)
    author = rawsql.instance_of(User, AUTHOR_FIELDS, row, at)
    at += len(AUTHOR_FIELDS)
    Post.author.field.set_cached_value(post, author)
    Post.channel.field.set_cached_value(post, channel)
    side = _side_model(kind)
    if side is not None:
        related = getattr(Post, SIDE_ROWS[kind]).related
        found = rawsql.instance(side, row, at)
        at += rawsql.width(side)
        related.set_cached_value(post, found)
        if side is Movie:
            tally = row[at : at + 2]
            at += 2
            if found is not None:
                post.film_others, post.film_average = film_standing(
                    post, found, None if tally[0] is None else (tally[0], tally[1])
                )
    if same:
        post.same_by_me = bool(row[at])
        at += 1
    if kind in PHOTO_KINDS:
        _photos_of(post, row[at])
    return post


def channel_posts(
    *, viewer: User | None, channel: Channel, cursor: str | None = None, size: int = PAGE_SIZE
) -> ChannelFeed:
    """A channel's posts, newest first; on the first page its pinned post leads. One hand-written query
    (core/rawsql.py: the ORM spent ~2 ms of CPU building the page's and the pinned post's queries, which
    run in ~0.2 ms); each post is given `channel` rather than joining it (the same row 20 times over), and its author
    with only the name read (`AUTHOR_FIELDS`)."""
    after = cursor_values(Post, ORDER, cursor) if cursor else []
    if channel.is_closed:  # as visible_posts: a closed channel's posts show nowhere
        return ChannelFeed(pinned=None, page=Page(items=[], next=None))
    kind = channel.kind if channel.kind in SIDE_ROWS or channel.kind in PHOTO_KINDS else ""
    same = viewer is not None and viewer.is_authenticated
    params: list[Any] = [viewer.pk] if same and viewer is not None else []  # the *same* column's
    if not cursor:
        params.append(channel.pk)  # the pinned post's part
    params.append(channel.pk)
    if cursor:
        params += [connection.ops.adapt_datetimefield_value(after[0]), after[1]]
    params.append(size + 1)
    pinned = None
    rows = []
    sql = _channel_posts_sql(after=bool(cursor), with_pinned=not cursor, kind=kind, same=same)
    for row in rawsql.fetch_all(sql, params):
        post = _post_with_author(row, channel, kind=kind, same=same)
        if row[0] == 0:
            pinned = post
        else:
            rows.append(post)
    items, more = rows[:size], len(rows) > size
    page = Page(items=items, next=cursor_of(items[-1], ORDER) if more and items else None)
    joined = {"same"} if same else set()
    if kind in SIDE_ROWS:
        joined.add(SIDE_ROWS[kind])
    if kind in PHOTO_KINDS:
        joined.add("images")
    decorate_posts([pinned, *items] if pinned else items, viewer, joined=frozenset(joined))
    return ChannelFeed(pinned=pinned, page=page)


# Up to this many joined channels, Home merges the newest posts of each channel (one short index walk
# each); beyond, one query walks all posts newest-first and keeps those of joined channels.
MERGE_CHANNELS = 100


def home_feed(*, user: User, cursor: str | None = None, size: int = PAGE_SIZE) -> Page[Post]:
    """Recent posts of the channels the person joined, newest first. Never a feed of people."""
    joined = list(Membership.objects.filter(user=user, channel__is_closed=False).values_list("channel_id", flat=True))
    if len(joined) <= MERGE_CHANNELS:
        live = Post.objects.filter(removed_at__isnull=True)
        parts = [live.filter(channel_id=channel_id) for channel_id in joined]
        page = keyset_merge(parts, visible_posts(user), order=ORDER, cursor=cursor, size=size)
    else:
        page = keyset_page(visible_posts(user).filter(channel_id__in=joined), order=ORDER, cursor=cursor, size=size)
    decorate_posts(page.items, user)
    return page


def post_get(*, viewer: User | None, public_id: str) -> Post:
    post = visible_posts(viewer).filter(public_id=public_id).first()
    if post is None:
        raise NotFound(_("No such post."))
    return decorate_posts([post], viewer)[0]


def same_people(*, post: Post, viewer: User) -> list[str]:
    """Who felt the same — for the author's eyes only."""
    if post.author_id != viewer.pk:
        return []
    return list(Same.objects.filter(post=post).order_by("-created_at").values_list("user__username", flat=True)[:200])
