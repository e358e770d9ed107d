"""Which composer a channel shows, and how its form reaches the service of its kind."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms

from accounts.models import User
from interests.models import Channel, ChannelKind

from . import forms as post_forms
from .models import Post
from .movies import post_create_movie
from .photos import post_create_photos
from .polls import post_create_poll
from .services import post_create_text
from .songs import post_create_song


@dataclass(frozen=True)
class Composer:
    form: type[forms.Form]
    create: Callable[[User, Channel, dict[str, Any]], Post]
    multipart: bool = False


COMPOSERS: dict[str, Composer] = {
    ChannelKind.TEXT: Composer(
        post_forms.TextPostForm,
        lambda user, channel, data: post_create_text(author=user, channel=channel, text=data["text"]),
    ),
    ChannelKind.IMAGE: Composer(
        post_forms.PhotoPostForm,
        lambda user, channel, data: post_create_photos(
            author=user, channel=channel, images=data["images"], text=data["text"]
        ),
        multipart=True,
    ),
    ChannelKind.MUSIC: Composer(
        post_forms.SongPostForm,
        lambda user, channel, data: post_create_song(
            author=user,
            channel=channel,
            title=data["title"],
            artist=data["artist"],
            text=data["text"],
            audio=data["audio"] or None,
            cover=data["cover"] or None,
        ),
        multipart=True,
    ),
    ChannelKind.MOVIE: Composer(
        post_forms.MoviePostForm,
        lambda user, channel, data: post_create_movie(
            author=user,
            channel=channel,
            title=data["title"],
            year=data["year"],
            rating=data["rating"] or None,
            review=data["review"],
            poster=data["poster"] or None,
        ),
        multipart=True,
    ),
    ChannelKind.VOTE: Composer(
        post_forms.PollPostForm,
        lambda user, channel, data: post_create_poll(
            author=user,
            channel=channel,
            question=data["question"],
            options=data["options"].splitlines(),
            multiple=data["multiple"],
            closes_at=data["closes_at"],
        ),
    ),
}


def composer_for(channel: Channel) -> Composer | None:
    """Punch-the-clock channels have no composer: a punch is made by punching in."""
    return COMPOSERS.get(channel.kind)
