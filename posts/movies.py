"""Movie posts: a film, a 1–5 star rating and a short review; the channel sees how others rated it."""

import unicodedata
from collections.abc import Iterable

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, F, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core import rawsql
from core.errors import ServiceError, ValidationFailed, gather_checks
from interests.models import Channel, ChannelKind

from .models import FilmTally, Movie, Post
from .services import _clean_post_text, check_can_post, post_record
from .stored_images import stored_image

TITLE_MAX = 200
REVIEW_MAX = 1000
FIRST_FILM_YEAR = 1878


def movie_title_key(title: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", title).casefold().split())


def _clean_title(raw: str) -> str:
    title = " ".join(unicodedata.normalize("NFKC", raw).split())
    if not title:
        raise ServiceError("required", _("Which film?"), field="title")
    if len(title) > TITLE_MAX:
        raise ServiceError("too_long", _("A title has at most 200 characters."), field="title")
    return title


def _clean_year(raw: int | str | None) -> str:
    if raw in (None, ""):
        return ""
    try:
        year = int(str(raw))
    except ValueError:
        raise ServiceError("invalid_year", _("Write the year as a number, like 1994."), field="year") from None
    if not FIRST_FILM_YEAR <= year <= timezone.now().year + 2:
        raise ServiceError("invalid_year", _("That year doesn't look right."), field="year")
    return str(year)


def _clean_rating(raw: int | str | None) -> str:
    try:
        rating = int(str(raw))
    except ValueError:
        raise ServiceError("invalid_rating", _("Give it 1 to 5 stars."), field="rating") from None
    if not 1 <= rating <= 5:
        raise ServiceError("invalid_rating", _("Give it 1 to 5 stars."), field="rating")
    return str(rating)


def _clean_review(raw: str) -> str:
    if len(raw.strip()) > REVIEW_MAX:
        raise ServiceError("too_long", _("A review has at most 1,000 characters."), field="review")
    return _clean_post_text(raw, required=False, field="review")


def post_create_movie(
    *,
    author: User,
    channel: Channel,
    title: str,
    year: int | str | None,
    rating: int | str | None,
    review: str = "",
    poster: UploadedFile[bytes] | None = None,
) -> Post:
    check_can_post(author=author, channel=channel, kind=ChannelKind.MOVIE)
    values, errors = gather_checks(
        {
            "title": lambda: _clean_title(title),
            "year": lambda: _clean_year(year),
            "rating": lambda: _clean_rating(rating),
            "review": lambda: _clean_review(review),
        }
    )
    if errors:
        raise ValidationFailed(errors)
    with stored_image(poster, field="poster") as stored, transaction.atomic():
        post = post_record(
            post=Post(
                channel=channel, author=author, kind=ChannelKind.MOVIE, text=values["review"], created_at=timezone.now()
            )
        )
        movie = Movie(
            post=post,
            title=values["title"],
            title_key=movie_title_key(values["title"]),
            year=int(values["year"]) if values["year"] else None,
            rating=int(values["rating"]),
        )
        if stored is not None:
            movie.poster.name = stored.image_name
        movie.save()
        _tally(channel.pk, movie.title_key, movie.year, posts=1, stars=movie.rating)
    return post


# A film's standing in a channel ("N others posted this film · average ★") is a tally kept as posts come
# and go (`FilmTally`), so a page reads one row per film instead of counting every post of it: at a million
# posts one film in a big channel is tens of thousands of rows (1.5 s on PostgreSQL).


def _tally(channel_id: int, title_key: str, year: int | None, *, posts: int, stars: int) -> None:
    """Add to a film's tally in a channel, inside the caller's transaction (concurrent posts both count)."""
    tally, _created = FilmTally.objects.get_or_create(channel_id=channel_id, title_key=title_key, year=year or 0)
    FilmTally.objects.filter(pk=tally.pk).update(posts=F("posts") + posts, stars=F("stars") + stars)


def film_tally_forget(posts: QuerySet[Post]) -> None:
    """Take live movie posts that are being removed or deleted out of their films' tallies (before the
    rows go or are marked removed, inside the caller's transaction)."""
    rows = (
        Movie.objects.filter(post__in=posts, post__removed_at__isnull=True)
        .values("post__channel_id", "title_key", "year")
        .annotate(n=Count("pk"), total=Sum("rating"))
        .order_by()
    )
    for row in rows:
        _tally(row["post__channel_id"], row["title_key"], row["year"], posts=-row["n"], stars=-(row["total"] or 0))


def film_stats(posts: Iterable[Post]) -> dict[int, tuple[int, float]]:
    """For each movie post: how many *other* live posts in its channel name the same film (same title and
    year), and the average of their ratings. One query for the page."""
    movies = [(post, post.movie) for post in posts if post.kind == ChannelKind.MOVIE and hasattr(post, "movie")]
    if not movies:
        return {}
    films = sorted({(post.channel_id, m.title_key, m.year or 0) for post, m in movies})
    # A written SELECT (core/rawsql.py): the ORM spent ~1 ms of CPU building this OR of a page's films.
    wanted = " OR ".join(["(channel_id = %s AND title_key = %s AND year = %s)"] * len(films))
    rows = rawsql.fetch_all(
        f"SELECT channel_id, title_key, year, posts, stars FROM {FilmTally._meta.db_table} WHERE {wanted}",  # noqa: S608  (no value in it)
        [value for film in films for value in film],
    )
    groups = {(channel_id, title_key, year): (posts, stars) for channel_id, title_key, year, posts, stars in rows}
    return {
        post.pk: film_standing(post, movie, groups.get((post.channel_id, movie.title_key, movie.year or 0)))
        for post, movie in movies
    }


def film_standing(post: Post, movie: Movie, tally: tuple[int, int] | None) -> tuple[int, float]:
    """How many *other* live posts in the post's channel name its film, and the average of their ratings, from the
    film's tally there (posts, stars; None when it has none)."""
    count, total = tally if tally is not None else (1, movie.rating)
    if post.removed_at is None:  # the tally counts live posts; a removed one's stars are not in it
        count, total = count - 1, total - movie.rating
    # "N others posted this film, average ★ x.y": the others' average, without this post's own stars.
    others = max(count, 0)
    return others, total / others if others else float(movie.rating)
