"""Deleting an account takes its posts' files along (the rows go by cascade) and mends counters."""

from collections.abc import Sequence

from django.db.models import Count, F
from django.utils.translation import ngettext

from accounts.deletion import register_deletion_note, register_deletion_step
from accounts.models import User
from interests.models import Channel

from .files import delete_post_files
from .models import Post
from .movies import film_tally_forget


@register_deletion_step
def remove_posts_and_sames(user: User) -> None:
    for post in Post.objects.filter(author=user):
        delete_post_files(post)
    live = Post.objects.filter(author=user, removed_at__isnull=True)
    film_tally_forget(live)
    for row in live.values("channel_id").annotate(n=Count("pk")).order_by():
        Channel.objects.filter(pk=row["channel_id"]).update(post_count=F("post_count") - row["n"])
    Post.objects.filter(sames__user=user).update(same_count=F("same_count") - 1)


@register_deletion_note
def posts_note(people: Sequence[User]) -> list[str]:
    count = Post.objects.filter(author__in=people).count()
    if not count:
        return []
    return [
        ngettext(
            "Their %(count)d post goes with its photo or recording, if it has one, and the counts it was in are mended.",
            "Their %(count)d posts go with their photos and recordings, and the counts they were in are mended.",
            count,
        )
        % {"count": count}
    ]
