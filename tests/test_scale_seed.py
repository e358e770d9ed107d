"""`manage.py seed_scale` at a tiny scale: the shapes of the big dataset, with every counter right."""

import io
from collections import Counter, defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, Sum

from accounts.models import User
from chat.models import Conversation, Message, Participant
from core.scale_data import Sizes
from interests.models import Channel, ChannelKind, Membership
from posts.models import FilmTally, Movie, Poll, PollOption, Post, PostImage, Same, Song
from punches.models import Punch, PunchClock

pytestmark = pytest.mark.django_db

SCALE = 0.001


@pytest.fixture
def seeded(settings, tmp_path) -> str:
    settings.MEDIA_ROOT = tmp_path / "media"
    out = io.StringIO()
    call_command("seed_scale", scale=SCALE, stdout=out)
    return out.getvalue()


def test_sizes_follow_the_scale():
    assert Sizes.at(1) == Sizes(
        people=100_000,
        channels=10_000,
        posts=1_000_000,
        sames=5_000_000,
        punches=1_000_000,
        messages=1_000_000,
        directs=50_000,
        groups=1_000,
    )
    assert Sizes.at(0.01).posts == 10_000
    assert Sizes.at(0.01).people == 1_000
    assert Sizes.at(1e-9).channels == 12  # every kind, twice, whatever the scale


def test_the_dataset_has_every_shape_and_its_counters_equal_recounts(seeded):
    sizes = Sizes.at(SCALE)
    assert "Seeded in" in seeded  # the total
    assert "posts" in seeded  # a progress line
    assert User.objects.count() == sizes.people + 2
    assert User.objects.filter(username__in=["bench", "bench_quiet"]).count() == 2
    assert Channel.objects.count() == sizes.channels
    assert set(Channel.objects.values_list("kind", flat=True)) == set(ChannelKind.values)
    assert PunchClock.objects.count() == Channel.objects.filter(kind=ChannelKind.PUNCH).count()
    # Posts of mixed kinds, each the kind of its channel, each kind with its own rows.
    non_punch = Post.objects.exclude(kind=ChannelKind.PUNCH)
    assert non_punch.count() == sizes.posts
    assert not Post.objects.exclude(kind=F("channel__kind")).exists()
    kinds = Counter(non_punch.values_list("kind", flat=True))
    assert set(kinds) == set(ChannelKind.values) - {ChannelKind.PUNCH}
    assert Song.objects.count() == kinds["music"]
    assert Movie.objects.count() == kinds["movie"]
    assert Poll.objects.count() == kinds["vote"]
    assert PollOption.objects.values("poll").distinct().count() == kinds["vote"]
    assert PostImage.objects.values("post").distinct().count() == kinds["image"]
    # Punches: one post each, one per person, channel and day; ranks and streaks as the service counts them.
    punches = list(Punch.objects.order_by("channel_id", "local_date", "local_seconds"))
    assert len(punches) > sizes.punches * 0.5
    assert Post.objects.filter(kind=ChannelKind.PUNCH).count() == len(punches)
    assert not Punch.objects.exclude(post__kind=ChannelKind.PUNCH).exists()
    days: dict[tuple[int, object], list[Punch]] = defaultdict(list)
    for punch in punches:
        days[(punch.channel_id, punch.local_date)].append(punch)
    for group in days.values():
        for punch in group:
            assert punch.rank == 1 + sum(other.local_seconds < punch.local_seconds for other in group)
    assert not Punch.objects.exclude(user__memberships__channel=F("channel")).exists()
    streaks = {(p.channel_id, p.user_id, p.local_date): p.streak for p in punches}
    for (channel, user, day), streak in streaks.items():
        before = streaks.get((channel, user, day.fromordinal(day.toordinal() - 1)))
        assert streak == (before + 1 if before else 1)
    # Counters equal recounts.
    assert Same.objects.count() > 0
    for post_id, same_count, recount in Post.objects.annotate(n=Count("sames")).values_list("pk", "same_count", "n"):
        assert same_count == recount, post_id
    assert not Same.objects.filter(user=F("post__author")).exists()
    for counted in Channel.objects.annotate(
        n_members=Count("memberships", distinct=True),
        n_posts=Count("posts", distinct=True),
        newest=Max("posts__created_at"),
    ):
        assert counted.member_count == counted.n_members
        assert counted.post_count == counted.n_posts
        if counted.n_posts:
            assert counted.last_post_at == counted.newest
        assert counted.host_id is not None
        assert Membership.objects.filter(channel=counted, user_id=counted.host_id).exists()
    # Each film's standing in each channel: its tally equals a recount of its posts.
    films = {
        (r["post__channel_id"], r["title_key"], r["year"] or 0): (r["n"], r["stars"])
        for r in Movie.objects.values("post__channel_id", "title_key", "year")
        .annotate(n=Count("pk"), stars=Sum("rating"))
        .order_by()
    }
    assert films
    assert {(t.channel_id, t.title_key, t.year): (t.posts, t.stars) for t in FilmTally.objects.all()} == films
    # Chat: direct conversations and groups, messages numbered 1…n, counters and read marks consistent.
    assert set(Conversation.objects.values_list("kind", flat=True)) == {"direct", "group"}
    assert Conversation.objects.filter(kind="group", channel__isnull=False).exists()
    assert Message.objects.count() > sizes.messages * 0.3
    # The busiest conversation is a full group (200 members, or everyone at a tiny scale): the hardest page.
    busiest = Conversation.objects.annotate(members=Count("participants")).order_by("-next_seq")[0]
    assert (busiest.kind, busiest.members) == ("group", min(200, User.objects.count()))
    for conversation in Conversation.objects.annotate(n=Count("messages"), top=Max("messages__seq")):
        assert conversation.next_seq == conversation.n + 1 == (conversation.top or 0) + 1
        newest = conversation.messages.order_by("-seq").first()
        assert newest is not None
        assert conversation.last_message_at == newest.created_at
    assert not Participant.objects.filter(last_read_seq__gt=F("conversation__next_seq") - 1).exists()
    assert not Message.objects.exclude(sender__conversations__conversation=F("conversation")).exists()


def test_new_rows_get_ids_above_the_seeded_ones(seeded):
    channel = Channel.objects.filter(kind=ChannelKind.TEXT).order_by("pk")[0]
    post = Post.objects.create(channel=channel, author=User.objects.get(username="bench"), kind="text", text="new")
    assert post.pk > Post.objects.exclude(pk=post.pk).aggregate(top=Max("pk"))["top"]


def test_it_refuses_a_database_that_holds_data(seeded):
    with pytest.raises(CommandError, match="--reset"):
        call_command("seed_scale", scale=SCALE, stdout=io.StringIO())
    with pytest.raises(CommandError, match="scale"):
        call_command("seed_scale", scale=0, reset=True, stdout=io.StringIO())
