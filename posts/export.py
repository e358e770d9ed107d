"""A person's posts and *same* presses, in their data export."""

from typing import Any

from accounts.models import User
from accounts.selectors import register_export_section

from .models import Post, Same


@register_export_section("posts")
def posts_section(user: User) -> list[dict[str, Any]]:
    posts = (
        Post.objects.filter(author=user)
        .select_related("channel", "song", "movie", "poll")
        .prefetch_related("images", "poll__options")
        .order_by("created_at")
    )
    out = []
    for post in posts:
        item: dict[str, Any] = {
            "id": post.public_id,
            "channel": post.channel.name,
            "kind": post.kind,
            "text": post.text,
            "created_at": post.created_at.isoformat(),
            "same_count": post.same_count,
            "removed_by_host": post.removed_reason or None,
        }
        images = [image.image.url for image in post.images.all()]
        if images:
            item["images"] = images
        song = getattr(post, "song", None)
        if song is not None:
            item["song"] = {"title": song.title, "artist": song.artist, "audio": song.audio.url if song.audio else None}
        movie = getattr(post, "movie", None)
        if movie is not None:
            item["movie"] = {"title": movie.title, "year": movie.year, "rating": movie.rating}
        poll = getattr(post, "poll", None)
        if poll is not None:
            item["poll"] = {"question": poll.question, "options": [o.text for o in poll.options.all()]}
        out.append(item)
    return out


@register_export_section("same")
def same_section(user: User) -> list[dict[str, Any]]:
    return [
        {"post": post_id, "at": at.isoformat()}
        for post_id, at in Same.objects.filter(user=user)
        .order_by("created_at")
        .values_list("post__public_id", "created_at")
    ]
