"""The operators' dashboard: staff only, and its numbers add up for known data."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import User
from chat import services as chat
from chat.models import Message
from core.dashboard import bar_chart, daily_counts
from interests.services import channel_join
from posts.models import Post, Same
from posts.services import post_create_text, same_add
from punches.services import punch_in
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def day(n: int) -> date:
    """`n` days before TODAY."""
    return TODAY - timedelta(days=n)


@pytest.fixture
def seeded():
    """Known activity over three days (and some outside the 30-day window)."""
    ana = make_user(username="ana")
    ben = make_user(username="ben")
    old = make_user(username="old")
    User.objects.filter(pk=ana.pk).update(date_joined=at(day(2)))
    User.objects.filter(pk=ben.pk).update(date_joined=at(TODAY))
    User.objects.filter(pk=old.pk).update(date_joined=at(day(40)))

    channel = make_channel(name="Night", host=ana)
    first = post_create_text(author=ana, channel=channel, text="one")
    second = post_create_text(author=ana, channel=channel, text="two")
    yesterday = post_create_text(author=ana, channel=channel, text="three")
    ancient = post_create_text(author=old, channel=make_channel(name="Old", host=old), text="long ago")
    Post.objects.filter(pk__in=[first.pk, second.pk]).update(created_at=at(TODAY, 9))
    Post.objects.filter(pk=yesterday.pk).update(created_at=at(day(1)))
    Post.objects.filter(pk=ancient.pk).update(created_at=at(day(31)))

    same_add(user=ben, post=yesterday)
    Same.objects.update(created_at=at(day(1), 20))

    conversation, _first = chat.conversation_knock(sender=ben, post=first, text="me too", client_id="k1")
    chat.conversation_accept(user=ana, conversation=conversation)
    chat.message_send(sender=ben, conversation=conversation, text="still awake?", client_id="k2")
    Message.objects.update(created_at=at(TODAY, 22))

    clock = make_channel(name="Early", kind="punch", category="rituals", host=ben)
    channel_join(user=ana, channel=clock)
    punch_in(user=ana, channel=clock, now=at(TODAY, 6))
    punch_in(user=ben, channel=clock, now=at(day(2), 7))
    Post.objects.filter(kind="punch").update(created_at=at(TODAY, 6))  # the punches' own posts don't count as posts


class TestNumbers:
    def test_each_day_counts_what_happened_on_it(self, seeded, django_assert_max_num_queries):
        with django_assert_max_num_queries(5):
            rows = daily_counts(today=TODAY, zone=UTC)
        assert len(rows) == 30
        assert rows[0].day == day(29)
        assert rows[-1].day == TODAY
        by_day = {row.day: row for row in rows}
        today, yesterday, before = by_day[TODAY], by_day[day(1)], by_day[day(2)]
        assert (today.signups, today.posts, today.messages, today.punches) == (1, 2, 2, 1)
        assert today.active == 2  # ana posted and punched, ben wrote: each once
        assert (yesterday.signups, yesterday.posts, yesterday.messages, yesterday.punches) == (0, 1, 0, 0)
        assert yesterday.active == 2  # ana posted, ben pressed same
        assert (before.signups, before.punches, before.active) == (1, 1, 1)
        assert sum(row.posts for row in rows) == 3  # the post 31 days ago is outside
        assert sum(row.signups for row in rows) == 2
        quiet = by_day[day(5)]
        assert (quiet.signups, quiet.active, quiet.posts, quiet.messages, quiet.punches) == (0, 0, 0, 0, 0)

    def test_days_are_the_operators_calendar_days(self, seeded):
        from zoneinfo import ZoneInfo

        # 22:00 UTC today is already tomorrow in Shanghai: the messages move there.
        rows = {row.day: row for row in daily_counts(today=TODAY + timedelta(days=1), zone=ZoneInfo("Asia/Shanghai"))}
        assert rows[TODAY + timedelta(days=1)].messages == 2
        assert rows[TODAY].messages == 0


class TestPage:
    def test_staff_see_charts_and_the_table(self, client, seeded, django_assert_max_num_queries):
        client.force_login(make_user(username="operator", is_staff=True))
        # The session, the person, five counts, and the admin's two permission lookups for its menu.
        with django_assert_max_num_queries(9):
            response = client.get(reverse("admin_dashboard"))
        assert response.status_code == 200
        assert response.text.count('<svg class="chart"') == 5
        assert response.text.count('role="img"') >= 5
        assert "<caption>Numbers per day, newest first</caption>" in response.text
        assert response.text.count('<th scope="row">') == 30
        assert "@example.org" not in response.text  # counts only, nobody named
        assert " style=" not in response.text

    def test_the_admin_index_links_to_it(self, client):
        client.force_login(make_user(username="operator", is_staff=True, is_superuser=True))
        index = client.get(reverse("admin:index"))
        assert reverse("admin_dashboard") in index.text
        assert 'id="content-main"' in index.text

    def test_signed_out_visitors_are_sent_to_the_admin_login_and_members_find_nothing(self, client):
        anonymous = client.get(reverse("admin_dashboard"))
        assert anonymous.status_code == 302
        assert anonymous["Location"].startswith(reverse("admin:login"))
        client.force_login(make_user(username="member"))
        member = client.get(reverse("admin_dashboard"))
        assert member.status_code == 404  # the admin is hidden from signed-in people without staff rights
        assert "Sign-ups" not in member.text


def test_the_chart_draws_a_bar_per_day_and_says_what_it_shows():
    days = [TODAY - timedelta(days=n) for n in range(3, -1, -1)]
    svg = bar_chart(label="Posts", days=days, values=[0, 2, 4, 1])
    assert svg.count('<rect class="bar"') == 4
    assert 'aria-label="Posts per day, Mar 07 to Mar 10: 7 in all, at most 4 a day."' in svg
    assert "<title>Mar 09 · 4</title>" in svg
    empty = bar_chart(label="Punches", days=days, values=[0, 0, 0, 0])
    assert 'height="0.0"' in empty
