"""Every list page reads a fixed number of queries, whether its page is full or nearly empty; Home's merge
of the joined channels pages through every post once, in order."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AccessToken, User
from chat.models import Conversation, Message, Participant
from interests.models import Channel, ChannelKind, Membership
from posts.models import Post
from posts.selectors import home_feed

pytestmark = pytest.mark.django_db

# Queries per page; the comment names them. A change here is a change in what a page costs.
PINNED = {
    # session, user, joined channels, newest ids (one UNION ALL of per-channel index walks), the posts,
    # songs, films, polls, punches (one query per kind on the page), *same* by me, photos, poll options,
    # the films' standing (their tallies)
    "home": 13,
    # session, user, channel (+ joined?), posts with the pinned post (one UNION ALL), each with its film, the film's
    # tally and *same* by me joined in (a page of films reads no photos: only photo and punch posts have them)
    "channel": 4,
    "explore": 3,
    "discover": 4,
    # session, user, the conversations with their annotations (no members: the rows don't show them)
    "chats": 3,
    "conversation": 9,
    "stickers": 3,
    "punch board": 7,
    "ops reports": 6,
    "api feed": 14,
    "api channel posts": 5,  # as the channel page: the films, their tallies and *same* by me joined in the posts query
    "api channels": 4,
    "api conversations": 5,  # …, the conversations, their first 20 members (one windowed query)
    "api messages": 5,
    "api stickers": 4,
    "api punch board": 5,
}


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ADS_EVERY_N_VIEWS = 0  # a view that draws an ad costs three queries more (pinned in test_ads)
    call_command("seed_scale", scale=0.001, stdout=io.StringIO())
    viewer = User.objects.get(username="bench")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="change_report"))
    secret = "same_test_token_for_counting"
    AccessToken.objects.create(user=viewer, digest=hashlib.sha256(secret.encode()).hexdigest(), name="t")
    # The viewer is in every channel (so Home holds every kind) and in a busy conversation.
    for channel in Channel.objects.exclude(memberships__user=viewer):
        Membership.objects.create(channel=channel, user=viewer)
    # Home's first page holds every kind (which kinds a page holds decides which side rows it reads).
    for offset, kind in enumerate(ChannelKind.values):
        newest = Post.objects.filter(kind=kind).order_by("-created_at")[0]
        Post.objects.filter(pk=newest.pk).update(created_at=timezone.now() - timedelta(seconds=offset))
    busiest = Conversation.objects.filter(kind="group").order_by("-next_seq")[0]
    Participant.objects.get_or_create(conversation=busiest, user=viewer)
    return viewer, secret, busiest


def _pages(viewer: User, conversation: Conversation) -> dict[str, str]:
    text = Channel.objects.filter(kind=ChannelKind.MOVIE).order_by("-post_count")[0]
    punch = Channel.objects.filter(kind=ChannelKind.PUNCH).order_by("-post_count")[0]
    return {
        "home": "/",
        "channel": f"/c/{text.public_id}",
        "explore": "/explore",
        "discover": "/discover",
        "chats": "/chats",
        "conversation": f"/chats/{conversation.public_id}",
        "stickers": "/stickers",
        "punch board": f"/c/{punch.public_id}/records",
        "ops reports": "/ops/reports",
        "api feed": "/api/v1/feed",
        "api channel posts": f"/api/v1/channels/{text.public_id}/posts",
        "api channels": "/api/v1/channels?sort=active",
        "api conversations": "/api/v1/conversations",
        "api messages": f"/api/v1/conversations/{conversation.public_id}/messages",
        "api stickers": "/api/v1/stickers",
        "api punch board": f"/api/v1/channels/{punch.public_id}/punches",
    }


def _count(client, viewer: User, secret: str, conversation: Conversation) -> dict[str, int]:
    client.force_login(viewer)
    counts = {}
    for name, path in _pages(viewer, conversation).items():
        headers = {"Authorization": f"Bearer {secret}"} if name.startswith("api") else {}
        client.get(path, headers=headers)  # warm: the token's last_used_at is written once a minute at most
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, headers=headers)
        assert response.status_code == 200, (name, response.status_code)
        counts[name] = len(queries)
    return counts


def _thin_out() -> None:
    """Keep the newest post of each channel and the newest message of each conversation."""
    keep = [
        Post.objects.filter(channel=c).order_by("-created_at")[0].pk for c in Channel.objects.filter(post_count__gt=0)
    ]
    Post.objects.exclude(pk__in=keep).delete()
    Message.objects.exclude(pk__in=[c.messages.order_by("-seq")[0].pk for c in Conversation.objects.all()]).delete()


def test_list_pages_read_a_fixed_number_of_queries_whatever_the_page_holds(client, world):
    viewer, secret, conversation = world
    full = _count(client, viewer, secret, conversation)
    assert len(home_feed(user=viewer).items) == 20  # the first measure was of full pages
    _thin_out()
    thin = _count(client, viewer, secret, conversation)
    assert len(home_feed(user=viewer).items) < 20
    assert full == thin
    assert full == PINNED


def test_home_pages_through_every_joined_post_once_newest_first(user):
    host = User.objects.create_user("host", "host@example.org", "pw-long-enough-1")
    channels = [
        Channel.objects.create(name=f"c{i}", name_key=f"c{i}", kind=ChannelKind.TEXT, category="life", host=host)
        for i in range(4)
    ]
    other = Channel.objects.create(name="other", name_key="other", kind=ChannelKind.TEXT, category="life", host=host)
    for channel in channels[:3]:
        Membership.objects.create(channel=channel, user=user)
    moment = timezone.now()
    for i in range(70):  # skewed: channel 0 has most; equal times across channels test the tie-break
        channel = channels[0] if i % 3 else channels[1 + i % 2 * 1]
        Post.objects.create(
            channel=channel, author=host, kind="text", text=str(i), created_at=moment - timedelta(seconds=i // 2)
        )
    Post.objects.create(channel=other, author=host, kind="text", text="not joined", created_at=moment)
    Post.objects.create(channel=channels[0], author=host, kind="text", text="gone", removed_at=moment)
    expected = list(
        Post.objects.filter(channel__in=channels[:3], removed_at__isnull=True)
        .order_by("-created_at", "-public_id")
        .values_list("public_id", flat=True)
    )
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = home_feed(user=user, cursor=cursor, size=20)
        seen += [post.public_id for post in page.items]
        cursor = page.next
        if cursor is None:
            break
    assert seen == expected
    assert len(seen) == 70
