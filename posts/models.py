from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import new_public_id
from interests.models import Channel, ChannelKind

if TYPE_CHECKING:
    from .selectors import PollView


class Post(models.Model):
    """Something a person said in a channel. Its kind matches the channel's kind.

    `same_count` is kept by the services beside the `Same` rows, in one transaction.
    A post removed by the host stays in the moderation log, not in any list.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    kind = models.CharField(max_length=8, choices=ChannelKind.choices)
    text = models.TextField(blank=True)
    same_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_reason = models.CharField(max_length=500, blank=True)
    pinned_at = models.DateTimeField(null=True, blank=True)

    # Not stored: posts.selectors sets these for the cards that show the post.
    film_others: int
    film_average: float
    poll_view: "PollView"
    same_by_me: bool

    class Meta:
        indexes = [
            models.Index(fields=["channel", "-created_at", "-public_id"], name="post_channel_newest"),
            models.Index(fields=["-created_at", "-public_id"], name="post_newest"),
            models.Index(fields=["author", "-created_at"], name="post_by_author"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["channel"], condition=models.Q(pinned_at__isnull=False), name="one_pinned_post_per_channel"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} post in {self.channel_id}"


class Same(models.Model):
    """'I feel the same': one per person per post, enforced by the database."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="sames")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sames")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "user"], name="one_same_per_person")]
        indexes = [models.Index(fields=["user", "-created_at"], name="same_by_user")]

    def __str__(self) -> str:
        return f"{self.user_id} same {self.post_id}"


def _post_file_path(instance: models.Model, filename: str) -> str:
    # Random names only: an uploaded file's own name may say who or where someone is.
    return f"posts/{new_public_id()}.{filename.rsplit('.', 1)[-1]}"


class PostImage(models.Model):
    """One photo of an image post, re-encoded and stripped of metadata, with its thumbnail."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="images")
    position = models.PositiveSmallIntegerField()
    image = models.FileField(upload_to=_post_file_path)
    thumb = models.FileField(upload_to=_post_file_path)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    thumb_width = models.PositiveIntegerField()
    thumb_height = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["post", "position"], name="one_image_per_position")]

    def __str__(self) -> str:
        return f"image {self.position} of {self.post_id}"


class Song(models.Model):
    """The song of a music post: an uploaded file (tags stripped) or just a title and an artist."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="song")
    title = models.CharField(max_length=200)
    artist = models.CharField(max_length=200)
    audio = models.FileField(upload_to=_post_file_path, blank=True)
    audio_mime = models.CharField(max_length=40, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    cover = models.FileField(upload_to=_post_file_path, blank=True)

    def __str__(self) -> str:
        return f"{self.title} — {self.artist}"


class Movie(models.Model):
    """A film, rated 1–5. `title_key` groups posts of the same film within a channel."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="movie")
    title = models.CharField(max_length=200)
    title_key = models.CharField(max_length=200)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField()
    poster = models.FileField(upload_to=_post_file_path, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="movie_rating_1_to_5")
        ]
        indexes = [models.Index(fields=["title_key", "year"], name="movie_same_film")]

    def __str__(self) -> str:
        return self.title


class FilmTally(models.Model):
    """A film's standing in a channel, kept as its posts come and go: how many live posts name the film
    (same `title_key` and year; 0 = no year given) and the sum of their stars. Read per page, never counted."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    title_key = models.CharField(max_length=200)
    year = models.PositiveSmallIntegerField(default=0)
    posts = models.IntegerField(default=0)
    stars = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "title_key", "year"], name="one_tally_per_film_and_channel")
        ]

    def __str__(self) -> str:
        return f"{self.title_key} ({self.year or '?'}): {self.posts} posts"


class Poll(models.Model):
    """A question with 2–10 options. Results show to those who voted, and to all once it closes."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="poll")
    question = models.CharField(max_length=300)
    multiple = models.BooleanField(default=False)
    closes_at = models.DateTimeField(null=True, blank=True)
    ballot_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.question


class PollOption(models.Model):
    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=120)
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.text


class Ballot(models.Model):
    """One person's vote on one poll: one per person, enforced by the database."""

    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="ballots")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ballots")
    options = models.ManyToManyField(PollOption, related_name="ballots", through="BallotChoice")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "user"], name="one_ballot_per_person")]

    def __str__(self) -> str:
        return f"ballot of {self.user_id} on {self.poll_id}"


class BallotChoice(models.Model):
    """An option a ballot chose. The table Django made for `Ballot.options` as it was, named here so that what lists
    these rows (the admin's delete confirmation) says "ballot choices", not "Ballot-polloption relationships"."""

    ballot = models.ForeignKey(Ballot, on_delete=models.CASCADE)
    option = models.ForeignKey(PollOption, on_delete=models.CASCADE, db_column="polloption_id")

    class Meta:
        db_table = "posts_ballot_options"
        unique_together = [("ballot", "option")]

    def __str__(self) -> str:
        return f"choice of {self.option_id} on ballot {self.ballot_id}"
