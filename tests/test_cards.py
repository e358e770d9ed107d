"""Cards as people see them after a change: a *same*, a vote, a removal, a pin, a new name or count, a switch
of language — each shows on the next page at once, whether the part is written in Python (posts/cards.py)
or rendered once and reused (Explore's channel cards, the tab bar, the empty composer)."""

import re

import pytest
from django.urls import reverse

from interests.services import channel_join
from moderation.services import post_pin, post_remove
from posts.models import Post
from posts.polls import post_create_poll
from posts.services import post_create_text, same_add
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db


def _card(page: str, post: Post) -> str:
    """The one card of `post` on a page."""
    found = re.search(rf'<li class="post card[^"]*" id="post-{post.public_id}">.*?\n</li>', page, re.DOTALL)
    assert found, f"no card for {post.public_id}"
    return found.group(0)


@pytest.fixture
def world():
    host = make_user(username="host")
    channel = make_channel(host=host, name="Night owls")
    author = make_user(username="moth")
    viewer = make_user(username="fern")
    channel_join(user=author, channel=channel)
    channel_join(user=viewer, channel=channel)
    post = post_create_text(author=author, channel=channel, text="awake at 3 <again>")
    return channel, host, author, viewer, post


def test_a_same_press_shows_at_once_on_every_list_of_cards(client, world):
    channel, _host, _author, viewer, post = world
    client.force_login(viewer)
    page = reverse("interests:channel", args=[channel.public_id])
    before = _card(client.get(page).text, post)
    assert 'aria-pressed="false"' in before
    assert '<span class="same-count">0</span>' in before

    answer = client.post(reverse("posts:same", args=[post.public_id]), {"pressed": "0"}, headers={"HX-Request": "true"})
    assert answer.status_code == 200
    assert 'class="same pressed" aria-pressed="true"' in answer.text  # htmx swaps the button alone
    assert '<span class="same-count">1</span>' in answer.text

    for url in (page, reverse("core:home"), reverse("posts:detail", args=[post.public_id])):
        card = _card(client.get(url).text, post)
        assert 'class="same pressed" aria-pressed="true"' in card, url
        assert '<span class="same-count">1</span>' in card, url
        assert '<input type="hidden" name="pressed" value="1">' in card, url

    # Another person's press shows in the count; the viewer's own state stays theirs.
    same_add(user=make_user(), post=post)
    card = _card(client.get(page).text, post)
    assert '<span class="same-count">2</span>' in card
    assert 'aria-pressed="true"' in card


def test_a_vote_shows_the_results_at_once_and_only_to_who_voted(client, world):
    _channel, host, _author, viewer, _post = world
    poll_channel = make_channel(host=host, name="Sleep poll", kind="vote")
    channel_join(user=viewer, channel=poll_channel)
    poll = post_create_poll(author=host, channel=poll_channel, question="When?", options=["Late", "Early"])
    page = reverse("interests:channel", args=[poll_channel.public_id])
    client.force_login(viewer)
    card = _card(client.get(page).text, poll)
    assert 'class="poll-form"' in card
    assert "poll-results" not in card

    late = poll.poll.options.get(text="Late")
    answer = client.post(
        reverse("posts:vote", args=[poll.public_id]), {"option": [late.public_id]}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200
    assert '<li class="mine">' in answer.text
    assert "100%" in answer.text

    card = _card(client.get(page).text, poll)
    assert 'class="poll-results"' in card
    assert '<span class="poll-label">Late ✓</span><span class="poll-percent">100%</span>' in card
    assert "1 vote" in card
    # Someone who has not voted still sees the ballot, not the results.
    client.force_login(host)
    assert 'class="poll-form"' in _card(client.get(page).text, poll)


def test_a_refused_vote_answers_with_the_poll_and_its_error(client, world):
    _channel, host, _author, viewer, _post = world
    poll_channel = make_channel(host=host, name="Sleep poll", kind="vote")
    poll = post_create_poll(author=host, channel=poll_channel, question="When?", options=["Late", "Early"])
    client.force_login(viewer)
    answer = client.post(reverse("posts:vote", args=[poll.public_id]), {}, headers={"HX-Request": "true"})
    assert answer.status_code >= 400
    assert f'id="poll-{poll.public_id}"' in answer.text
    assert 'class="errorlist"' in answer.text


def test_a_removed_post_leaves_every_list_at_once(client, world):
    channel, host, _author, viewer, post = world
    client.force_login(viewer)
    page = reverse("interests:channel", args=[channel.public_id])
    assert f'id="post-{post.public_id}"' in client.get(page).text
    post_remove(post=post, by=host, reason="Off topic")
    assert f'id="post-{post.public_id}"' not in client.get(page).text
    assert f'id="post-{post.public_id}"' not in client.get(reverse("core:home")).text


def test_a_pin_leads_the_channel_and_the_host_sees_unpin(client, world):
    channel, host, _author, _viewer, post = world
    later = post_create_text(author=host, channel=channel, text="newer")
    post_pin(post=post, by=host)
    client.force_login(host)
    page = client.get(reverse("interests:channel", args=[channel.public_id])).text
    assert page.index(f'id="post-{post.public_id}"') < page.index(f'id="post-{later.public_id}"')
    pinned = _card(page, post)
    assert 'class="post card pinned"' in pinned
    assert 'value="unpin">Unpin</button>' in pinned
    assert 'value="pin">Pin to the top</button>' in _card(page, later)


def test_the_viewers_own_tools_differ_per_viewer_on_the_same_post(client, world):
    channel, host, author, viewer, post = world
    page = reverse("interests:channel", args=[channel.public_id])
    client.force_login(author)
    mine = _card(client.get(page).text, post)
    assert '<span class="same-count mine">0 felt the same</span>' in mine
    assert "Talk to the author" not in mine
    client.force_login(viewer)
    theirs = _card(client.get(page).text, post)
    assert "Talk to the author" in theirs
    assert "Block moth" in theirs
    assert "Remove from the channel" not in theirs
    client.force_login(host)
    assert "Remove from the channel" in _card(client.get(page).text, post)


def test_a_language_switch_shows_in_cards_tabs_and_composer_at_once(client, world):
    channel, _host, _author, viewer, post = world
    page = reverse("interests:channel", args=[channel.public_id])
    client.force_login(viewer)
    english = client.get(page).text
    assert "Talk to the author" in _card(english, post)
    assert "<span>Home</span>" in english
    assert "Say something" in english  # the composer's label

    viewer.language = "zh-hans"
    viewer.save(update_fields=["language"])
    chinese = client.get(page).text
    card = _card(chinese, post)
    assert "Talk to the author" not in card
    assert "和作者聊聊" in card
    assert "<span>首页</span>" in chinese
    assert "<span>Home</span>" not in chinese
    assert "说点什么" in chinese
    assert "Say something" not in chinese
    # and back: nothing of the other language is kept
    viewer.language = "en"
    viewer.save(update_fields=["language"])
    assert "Talk to the author" in _card(client.get(page).text, post)


def test_explore_cards_show_a_new_name_count_and_membership_at_once(client, world):
    channel, _host, _author, _viewer, _post = world
    stranger = make_user(username="wren")
    client.force_login(stranger)
    explore = reverse("interests:explore")
    text = client.get(explore).text
    assert "Night owls" in text
    assert "3 members" in text
    assert '<span class="badge">joined</span>' not in text

    channel_join(user=stranger, channel=channel)
    text = client.get(explore).text
    assert "4 members" in text
    assert '<span class="badge">joined</span>' in text

    channel.refresh_from_db()
    channel.description = "For the <sleepless>"
    channel.save(update_fields=["description"])
    text = client.get(explore).text
    assert "For the &lt;sleepless&gt;" in text
    # Someone else, not a member, sees the same channel without the badge.
    client.force_login(make_user())
    assert '<span class="badge">joined</span>' not in client.get(explore).text


def test_the_tab_bar_lights_the_page_it_is_on(client, world):
    _channel, _host, _author, viewer, _post = world
    client.force_login(viewer)
    lit = re.compile(r'class="tab active" aria-current="page">\s*<svg[^>]*>.*?</svg>\s*<span>(\w+)</span>', re.DOTALL)
    assert lit.findall(client.get(reverse("core:home")).text) == ["Home"]
    assert lit.findall(client.get(reverse("interests:explore")).text) == ["Explore"]
    assert lit.findall(client.get(reverse("core:home")).text) == ["Home"]


def test_cards_escape_what_people_typed(client, world):
    channel, _host, author, viewer, _post = world
    evil = post_create_text(author=author, channel=channel, text='<script>alert(1)</script> "quoted" & more')
    client.force_login(viewer)
    card = _card(client.get(reverse("core:home")).text, evil)
    assert "<script>" not in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card


def _tokens(page: str) -> set[str]:
    return set(re.findall(r'name="csrfmiddlewaretoken" value="([^"]*)"', page))


def test_kept_cards_carry_each_pages_own_csrf_token(client, world):
    """Cards are kept between pages with a placeholder for the CSRF token: each page puts its own in, every form
    of a card posts with it, and the placeholder never shows."""
    from django.test import Client

    channel, _host, _author, viewer, post = world
    page = reverse("interests:channel", args=[channel.public_id])
    seen = []
    for person in (viewer, viewer, make_user(username="lark")):
        checked = Client(enforce_csrf_checks=True)
        checked.force_login(person)
        text = checked.get(page).text
        header = re.search(r'"X-CSRFToken": "([^"]+)"', text)
        assert header
        card = _card(text, post)
        assert _tokens(card) == {header.group(1)}  # the same button's and the block form's
        assert "<!--csrf-token-->" not in text
        seen.append(header.group(1))
        pressed = checked.post(
            reverse("posts:same", args=[post.public_id]), {"csrfmiddlewaretoken": header.group(1), "pressed": "0"}
        )
        assert pressed.status_code in (200, 302)
        refused = checked.post(reverse("posts:same", args=[post.public_id]), {"pressed": "1"})
        assert refused.status_code == 403
    assert len(set(seen)) == 3


def test_a_post_text_cannot_take_the_place_of_the_token(client, world):
    channel, _host, author, viewer, _post = world
    sly = post_create_text(author=author, channel=channel, text="<!--csrf-token--> here")
    client.force_login(viewer)
    page = reverse("interests:channel", args=[channel.public_id])
    for _ in range(2):  # written, then kept
        card = _card(client.get(page).text, sly)
        text = re.search(r'<div class="post-text">(.*?)</div>', card, re.DOTALL)
        assert text
        assert text.group(1) == "&lt;!--csrf-token--&gt; here"


def test_a_time_zone_switch_shows_in_the_card_times_at_once(client, world):
    channel, _host, _author, viewer, post = world
    page = reverse("interests:channel", args=[channel.public_id])
    client.force_login(viewer)
    assert '+00:00">' in _card(client.get(page).text, post)
    viewer.timezone = "Asia/Shanghai"
    viewer.save(update_fields=["timezone"])
    assert '+08:00">' in _card(client.get(page).text, post)
