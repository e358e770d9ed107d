"""The rate limits that keep guessing, flooding and spam slow, as settings.RATE_LIMITS declares them.

Each test runs the real limits (no override), refuses with 429 + `Retry-After` + `RateLimit-*`, then moves a
fixed clock past the window and shows the door open again."""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from core import ratelimit
from core.errors import RateLimited
from interests.services import channel_join
from posts.services import post_create_text
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"
START = 1_800_000_000  # a multiple of every window below, so windows start where the test says


class Clock:
    def __init__(self) -> None:
        self.now = float(START + 1)

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> Clock:
    fixed = Clock()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=fixed.time))
    return fixed


def api_post(client: Client, path: str, body: dict, ip: str = "10.0.0.1", **headers: str):
    return client.post(API + path, json.dumps(body), content_type="application/json", REMOTE_ADDR=ip, headers=headers)


def assert_refused(response, *, window: int, limit: int) -> None:
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(window - 1)  # the clock is one second into the window
    assert response["RateLimit-Limit"] == str(limit)
    assert response["RateLimit-Remaining"] == "0"
    assert response["RateLimit-Reset"] == str(window - 1)


def aged(user: User, days: int = 2) -> User:
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=days))
    user.refresh_from_db()
    return user


class TestLogin:
    def test_five_tries_per_account_in_thirty_minutes_from_any_address(self, client, clock):
        """Ensure that a sixth guess at one account is refused, even from a new address, until 30 min pass."""
        make_user(username="maple")
        for i in range(5):
            response = api_post(client, "/auth/token", {"login": "maple", "password": "guess"}, ip=f"10.0.1.{i}")
            assert response.status_code == 400
            assert response["RateLimit-Remaining"] == str(4 - i)
        refused = api_post(client, "/auth/token", {"login": "maple", "password": PASSWORD}, ip="10.0.2.1")
        assert_refused(refused, window=1800, limit=5)
        assert refused.json()["code"] == "rate_limited"
        # The web login counts against the same account.
        page = client.post(reverse("accounts:login"), {"login": "maple", "password": PASSWORD}, REMOTE_ADDR="10.0.3.1")
        assert_refused(page, window=1800, limit=5)
        assert "_auth_user_id" not in client.session
        clock.advance(1799)
        assert api_post(client, "/auth/token", {"login": "maple", "password": PASSWORD}).status_code == 200

    def test_twenty_five_tries_per_address_in_five_minutes(self, client, clock):
        """Ensure that one address trying many accounts is stopped at 25 in five minutes; another address is not."""
        for i in range(25):
            assert (
                api_post(client, "/auth/token", {"login": f"p{i}", "password": "x"}, ip="10.9.9.9").status_code == 400
            )
        assert_refused(
            api_post(client, "/auth/token", {"login": "p99", "password": "x"}, ip="10.9.9.9"), window=300, limit=25
        )
        assert api_post(client, "/auth/token", {"login": "p99", "password": "x"}, ip="10.9.9.8").status_code == 400
        clock.advance(299)
        assert api_post(client, "/auth/token", {"login": "p99", "password": "x"}, ip="10.9.9.9").status_code == 400


class TestPasswordReset:
    def test_two_requests_per_email_an_hour(
        self, client, clock, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that a third reset for one address is refused (no third email), another address is not."""
        make_user(username="maple", email="maple@example.org")

        def reset(email: str, ip: str = "10.0.0.9"):
            with django_capture_on_commit_callbacks(execute=True):
                return api_post(client, "/auth/password-reset", {"email": email}, ip=ip)

        for ip in ["10.0.0.1", "10.0.0.2"]:
            assert reset("Maple@example.org", ip).status_code == 202
        assert len(smtp_server.to("maple@example.org")) == 2
        assert_refused(reset("maple@example.org", "10.0.0.3"), window=3600, limit=2)
        with django_capture_on_commit_callbacks(execute=True):
            web = client.post(
                reverse("accounts:password_reset"), {"email": "maple@example.org"}, REMOTE_ADDR="10.0.0.4"
            )
        assert_refused(web, window=3600, limit=2)
        assert len(smtp_server.to("maple@example.org")) == 2
        assert reset("other@example.org").status_code == 202
        clock.advance(3599)
        assert reset("maple@example.org").status_code == 202
        assert len(smtp_server.to("maple@example.org")) == 3


@pytest.fixture
def newcomer() -> User:
    return make_user(username="newcomer")


def bearer_for(user: User) -> dict[str, str]:
    from accounts.services import token_issue

    issued = token_issue(login=user.username, password=PASSWORD, client_ip="10.1.1.1")
    return {"Authorization": f"Bearer {issued.secret}"}


class TestNewAccountsAreSlower:
    def test_posts(self, client, clock, newcomer):
        """Ensure that an account in its first day may post 10 times an hour, an older one more."""
        channel = make_channel(name="Night walks")
        veteran = aged(make_user(username="veteran"))
        for person in (newcomer, veteran):
            channel_join(user=person, channel=channel)
        headers = bearer_for(newcomer)
        for i in range(10):
            assert (
                api_post(client, f"/channels/{channel.public_id}/posts", {"text": f"n{i}"}, **headers).status_code
                == 201
            )
        refused = api_post(client, f"/channels/{channel.public_id}/posts", {"text": "again"}, **headers)
        assert_refused(refused, window=3600, limit=10)
        client.force_login(newcomer)
        web = client.post(reverse("posts:create", args=[channel.public_id]), {"text": "from the page"})
        assert_refused(web, window=3600, limit=10)
        assert newcomer.posts.count() == 10
        veteran_headers = bearer_for(veteran)
        for i in range(11):
            response = api_post(client, f"/channels/{channel.public_id}/posts", {"text": f"v{i}"}, **veteran_headers)
            assert response.status_code == 201
        clock.advance(3599)
        assert api_post(client, f"/channels/{channel.public_id}/posts", {"text": "later"}, **headers).status_code == 201

    def test_knocks(self, client, clock, newcomer):
        """Ensure that an account in its first day may knock on 5 authors an hour, an older one more."""
        veteran = aged(make_user(username="veteran"))
        posts = []
        for i in range(7):
            author = make_user(username=f"author{i}")
            posts.append(post_create_text(author=author, channel=make_channel(host=author), text="hello"))
        for person, allowed in ((newcomer, 5), (veteran, 7)):
            headers = bearer_for(person)
            for i in range(allowed):
                body = {"post_id": posts[i].public_id, "text": "me too", "client_id": f"{person.username}{i}"}
                assert api_post(client, "/conversations", body, **headers).status_code == 201
        headers = bearer_for(newcomer)
        body = {"post_id": posts[5].public_id, "text": "me too", "client_id": "late"}
        assert_refused(api_post(client, "/conversations", body, **headers), window=3600, limit=5)
        client.force_login(newcomer)
        page = client.post(reverse("chat:talk", args=[posts[6].public_id]), {"text": "me too", "client_id": "page"})
        assert_refused(page, window=3600, limit=5)
        clock.advance(3599)
        assert api_post(client, "/conversations", body, **headers).status_code == 201

    def test_messages(self, client, newcomer):
        """Ensure that an account in its first day may send 30 messages a minute, an older one 120: a sliding
        minute, counted from the messages themselves (chat/limits.py), so a place frees as the oldest leaves it."""
        from chat.groups import group_create, group_join_by_invite, invite_create
        from chat.models import Message

        owner = aged(make_user(username="owner"))
        group = group_create(owner=owner, title="Night owls")
        invite = invite_create(user=owner, conversation=group)
        group_join_by_invite(user=newcomer, code=invite.code)  # "newcomer joined", in their name: not counted
        headers = bearer_for(newcomer)
        path = f"/conversations/{group.public_id}/messages"
        for i in range(30):
            answer = api_post(client, path, {"text": "hi", "client_id": f"n{i}"}, **headers)
            assert answer.status_code == 201
            assert answer["RateLimit-Remaining"] == str(29 - i)
        refused = api_post(client, path, {"text": "hi", "client_id": "n30"}, **headers)
        assert refused.status_code == 429, refused.content
        assert json.loads(refused.content)["code"] == "rate_limited"
        assert 55 <= int(refused["Retry-After"]) <= 60  # as the first of the 30 leaves the minute
        assert (refused["RateLimit-Limit"], refused["RateLimit-Remaining"]) == ("30", "0")
        owner_headers = bearer_for(owner)
        for i in range(31):
            assert api_post(client, path, {"text": "hi", "client_id": f"o{i}"}, **owner_headers).status_code == 201
        sent = Message.objects.filter(sender=newcomer, kind="text")
        assert sent.count() == 30  # the refused one stored nothing
        first = sent.order_by("created_at")[0]
        sent.update(created_at=timezone.now() - timedelta(seconds=59))  # all within the last minute still
        assert api_post(client, path, {"text": "hi", "client_id": "n30"}, **headers).status_code == 429
        Message.objects.filter(pk=first.pk).update(created_at=timezone.now() - timedelta(seconds=61))
        assert api_post(client, path, {"text": "hi", "client_id": "n30"}, **headers).status_code == 201
        assert api_post(client, path, {"text": "hi", "client_id": "n31"}, **headers).status_code == 429


@pytest.mark.skipif("redis" not in settings.CACHES["default"]["BACKEND"].lower(), reason="counts Redis round trips")
def test_a_hit_is_one_round_trip_to_redis_and_the_cache_reads_its_count(monkeypatch, clock) -> None:
    import redis
    from django.core.cache import cache

    direct, pipelined = [], []
    real_command, real_execute = redis.Redis.execute_command, redis.client.Pipeline.execute

    def command(self, *args, **kwargs):
        direct.append(args[0])
        return real_command(self, *args, **kwargs)

    def execute(self, *args, **kwargs):
        pipelined.append([c[0][0] for c in self.command_stack])
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)
    limit, window = settings.RATE_LIMITS["login_account"]
    for _ in range(limit):
        ratelimit.rate_limit_hit(scope="login_account", key="round-trips")
    assert direct == []
    assert pipelined == [["SET", "INCRBY"]] * limit
    window_start = START - START % window
    assert cache.get(ratelimit._cache_key("login_account", "round-trips", window_start)) == limit
    key = cache.make_and_validate_key(ratelimit._cache_key("login_account", "round-trips", window_start))
    assert 0 < cache._cache.get_client(key).ttl(key) <= window + 1  # the counter goes with its window
    with pytest.raises(RateLimited):
        ratelimit.rate_limit_hit(scope="login_account", key="round-trips")
    clock.advance(window)
    ratelimit.rate_limit_hit(scope="login_account", key="round-trips")  # a new window, a new counter


def test_several_limits_hit_at_once_count_each_and_refuse_when_any_is_full(clock) -> None:
    from django.core.cache import cache

    limit, window = settings.RATE_LIMITS["message_new_account"]
    for _ in range(limit):
        ratelimit.rate_limit_hits(("message_account", "together"), ("message_new_account", "together"))
    window_start = START - START % window
    assert cache.get(ratelimit._cache_key("message_new_account", "together", window_start)) == limit
    with pytest.raises(RateLimited):
        ratelimit.rate_limit_hits(("message_account", "together"), ("message_new_account", "together"))
    ratelimit.rate_limit_hit(scope="message_account", key="together")  # the looser limit alone still passes
    account_window = settings.RATE_LIMITS["message_account"][1]
    counted = cache.get(ratelimit._cache_key("message_account", "together", START - START % account_window))
    assert counted == limit + 2  # the refused attempt counted too, as separate calls count it


@pytest.mark.skipif("redis" not in settings.CACHES["default"]["BACKEND"].lower(), reason="counts Redis round trips")
def test_several_limits_hit_at_once_are_one_round_trip_to_redis(monkeypatch, clock) -> None:
    import redis

    pipelined = []
    real_execute = redis.client.Pipeline.execute

    def execute(self, *args, **kwargs):
        pipelined.append([c[0][0] for c in self.command_stack])
        return real_execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)
    ratelimit.rate_limit_hits(("message_account", "one-trip"), ("message_new_account", "one-trip"))
    assert pipelined == [["SET", "INCRBY", "SET", "INCRBY"]]


@pytest.mark.skipif("redis" not in settings.CACHES["default"]["BACKEND"].lower(), reason="the Redis cache's client")
def test_the_redis_client_is_made_once_and_counts_on_the_caches_own_server(clock) -> None:
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    store = caches["default"]
    assert isinstance(store, RedisCache)
    client = ratelimit._write_client(store)
    assert ratelimit._write_client(store) is client
    assert ratelimit._write_client(RedisCache(store._servers, {"KEY_PREFIX": "another"})) is client  # per request
    assert client.connection_pool.connection_kwargs == store._cache._get_connection_pool(write=True).connection_kwargs
