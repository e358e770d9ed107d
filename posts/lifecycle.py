"""Deleting an account takes its posts' files along (the rows go by cascade) and mends counters."""

from django.db.models import Count, F

from accounts.deletion import register_deletion_step
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
