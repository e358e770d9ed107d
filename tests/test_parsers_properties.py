"""Property tests (hypothesis) for the parsers and validators that read what people send.

Invariants: what is valid round-trips (cleaning it again changes nothing); what is invalid is refused with a
`ServiceError` (or Django's `ValidationError`) carrying a code, never any other exception; and through the doors
(API, pages) no string makes a 500.
"""

import base64
import json
import string
import unicodedata
from datetime import UTC, time
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.services import clean_timezone
from accounts.usernames import clean_username, username_key
from chat.services import _clean_client_id
from core.errors import ServiceError
from core.pagination import _decode, _encode
from interests.names import MAX_LENGTH, channel_name_key, display_width, tidy_name
from posts.movies import _clean_rating, _clean_year
from posts.polls import MAX_OPTIONS, OPTION_MAX, _clean_options
from punches.forms import ClockForm
from punches.models import PunchClock
from punches.services import clock_update, in_window
from tests.factories import PASSWORD, make_channel, make_user

# Text as people and programs send it: any code point, with the troublesome ones made likely.
TRICKY = st.sampled_from(
    ["\u0000", "\u200b", "\u202e", "\ufeff", "\u2028", "\ufffd", "ａ", "а", "ß", "İ", "小", "😀", "<", "&", "\\"]
)
# Surrogates are left out: they can't be encoded, so no request or form can carry one.
TEXT = st.text(st.one_of(st.characters(exclude_categories=["Cs"]), TRICKY), max_size=80)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# Through the database and the doors: fewer, slower examples.
FUZZ_DB = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _refused_with_a_code(call: Any, *args: Any) -> Any:
    """The call's result, or None when it refused as it should (with a code); any other exception fails the test."""
    code: str | None = None
    try:
        return call(*args)
    except ServiceError as error:
        code = error.code if str(error.message) else None
    except ValidationError as error:
        code = error.code
    assert code, "refused without a code"
    return None


class TestUsernames:
    @FUZZ
    @given(TEXT)
    @example("Alice")
    @example("ａｌｉｃｅ")
    @example("小雨")
    @example("a" * 31)
    def test_a_username_is_cleaned_once_or_refused_with_a_code(self, raw: str) -> None:
        clean = _refused_with_a_code(clean_username, raw)
        if clean is None:
            return
        assert clean_username(clean) == clean
        assert username_key(clean) == username_key(clean_username(clean))
        assert not set(clean) & set("<>\"'&/\\ \t\n")


class TestChannelNames:
    @FUZZ
    @given(TEXT)
    def test_tidying_a_name_is_stable_and_has_no_control_characters(self, raw: str) -> None:
        name = tidy_name(raw)
        assert tidy_name(name) == name
        assert channel_name_key(tidy_name(name)) == channel_name_key(name)
        assert not any(unicodedata.category(char)[0] == "C" for char in name)
        assert display_width(name) >= len(name)

    @pytest.mark.django_db
    @FUZZ_DB
    @given(TEXT)
    @example("Ab")
    @example("  ")
    @example("x" * 41)
    def test_a_channel_is_opened_or_refused_with_a_code(self, raw: str) -> None:
        from interests.services import channel_create

        host = make_user()
        channel = _refused_with_a_code(
            lambda: channel_create(host=host, name=raw, kind="text", category="moods"),
        )
        if channel is not None:
            assert channel.name == tidy_name(raw)
            assert 0 < len(channel.name) <= MAX_LENGTH


class TestPolls:
    @FUZZ
    @given(st.lists(TEXT, max_size=14))
    @example(["yes", "YES"])
    @example(["a" * 121, "b"])
    def test_options_are_cleaned_once_or_refused_with_a_code(self, options: list[str]) -> None:
        cleaned = _refused_with_a_code(_clean_options, options)
        if cleaned is None:
            return
        assert _clean_options(cleaned) == cleaned
        assert 2 <= len(cleaned) <= MAX_OPTIONS
        assert all(0 < len(option) <= OPTION_MAX for option in cleaned)
        assert len({option.casefold() for option in cleaned}) == len(cleaned)

    @FUZZ
    @given(st.one_of(TEXT, st.integers(), st.none()))
    @example("1e400")
    @example("９")
    @example("1" * 5000)
    def test_film_years_and_ratings_never_crash(self, raw: Any) -> None:
        year = _refused_with_a_code(_clean_year, raw)
        if year:
            assert _clean_year(year) == year
        rating = _refused_with_a_code(_clean_rating, raw)
        if rating is not None:
            assert rating in {"1", "2", "3", "4", "5"}


class TestTimeZones:
    @FUZZ
    @given(st.one_of(TEXT, st.sampled_from(["UTC", "Europe/Paris", " Asia/Tokyo ", "Etc/GMT+14", "../../etc/passwd"])))
    def test_a_time_zone_is_one_of_the_list_or_refused(self, raw: str) -> None:
        name = _refused_with_a_code(clean_timezone, raw)
        if name is not None:
            assert clean_timezone(name) == name
            assert name == raw.strip()


class TestPunchWindows:
    @given(st.times(), st.times(), st.times())
    @example(time(22), time(2), time(23, 30))
    @example(time(22), time(2), time(12))
    def test_a_moment_is_in_a_window_exactly_when_it_lies_between_its_ends(
        self, start: time, end: time, moment: time
    ) -> None:
        """Ensure windows work across midnight: 22:00–02:00 holds 23:30 and 01:00, not 12:00 (ends included)."""
        inside = in_window(PunchClock(window_start=start, window_end=end), moment)
        if start <= end:
            assert inside == (start <= moment <= end)
        else:
            assert inside == (moment >= start or moment <= end)
        assert in_window(PunchClock(), moment)

    @pytest.mark.django_db
    @FUZZ_DB
    @given(TEXT, TEXT, TEXT)
    @example("07:00", "09:30", "Up!")
    @example("25:00", "09:00", "")
    @example("07:00", "", "")
    @example("07:00", "07:00", "")
    def test_the_hosts_window_is_set_or_refused_with_a_code(self, start: str, end: str, prompt: str) -> None:
        host = make_user()
        channel = make_channel(host=host, kind="punch")
        form = ClockForm({"window_start": start, "window_end": end, "prompt": prompt})
        if not form.is_valid():
            assert form.errors
            return
        clock = _refused_with_a_code(
            lambda: clock_update(
                channel=channel,
                by=host,
                window_start=form.cleaned_data["window_start"],
                window_end=form.cleaned_data["window_end"],
                prompt=form.cleaned_data["prompt"],
            )
        )
        if clock is not None:
            assert (clock.window_start is None) == (clock.window_end is None)


class TestClientIds:
    @FUZZ
    @given(TEXT)
    def test_a_client_id_is_kept_or_refused_with_a_code(self, raw: str) -> None:
        clean = _refused_with_a_code(_clean_client_id, raw)
        if clean is not None:
            assert _clean_client_id(clean) == clean
            assert 0 < len(clean) <= 64


CURSOR_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        TEXT,
        st.fixed_dictionaries({"t": st.one_of(TEXT, st.integers())}),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=2),
    max_leaves=6,
)


def _cursor_of(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


class TestCursors:
    @FUZZ
    @given(st.lists(st.one_of(st.integers(-(2**62), 2**62), TEXT, st.datetimes(timezones=st.just(UTC))), max_size=3))
    def test_a_cursor_round_trips(self, values: list[Any]) -> None:
        assert _decode(_encode(values), len(values)) == values

    @FUZZ
    @given(st.one_of(TEXT, st.text(string.ascii_letters + string.digits + "-_=", max_size=200)))
    def test_decoding_any_string_refuses_with_a_code(self, raw: str) -> None:
        _refused_with_a_code(_decode, raw, 2)

    def test_a_deeply_nested_cursor_is_refused(self) -> None:
        _refused_with_a_code(
            _decode, _cursor_of([]).replace("W10", "") + base64.urlsafe_b64encode(b"[" * 100_000).decode(), 2
        )

    @pytest.mark.django_db
    @FUZZ_DB
    @given(st.one_of(TEXT, st.lists(CURSOR_VALUES, min_size=2, max_size=2).map(_cursor_of)))
    @example(_cursor_of([10**30, "x"]))
    @example(_cursor_of([{"t": "2026-01-01T00:00:00"}, 10**30]))
    @example(_cursor_of([float("nan"), "x"]))
    @example(_cursor_of([[1], {"a": 1}]))
    @example(_cursor_of(["not a date", "x"]))
    @example(_cursor_of([{"t": "9999-12-31T23:59:59+00:00"}, "\u0000"]))
    def test_no_cursor_makes_a_list_fail(self, client: Client, cursor: str) -> None:
        """Ensure that every list that takes a cursor answers 200 or 400 `invalid_cursor` (`invalid` for a NUL),
        never a 500."""
        user = _viewer()
        token = f"Bearer {_token(client)}"
        channel = _channel(user)
        paths = [
            "/api/v1/channels?sort=active",
            "/api/v1/channels?sort=new",
            "/api/v1/channels?sort=popular",
            f"/api/v1/channels/{channel.public_id}/posts",
            "/api/v1/feed",
            "/api/v1/conversations",
        ]
        for path in paths:
            response = client.get(path, {"cursor": cursor}, headers={"Authorization": token})
            assert response.status_code in {200, 400}, (path, response.status_code, response.content[:200])
            if response.status_code == 400:  # a NUL anywhere in a query string is refused first (core/nul.py)
                assert response.json()["code"] == ("invalid" if "\x00" in cursor else "invalid_cursor")
        client.force_login(user)
        for page in ["/explore?sort=new", f"/c/{channel.public_id}", "/"]:
            response = client.get(page, {"cursor": cursor})
            assert response.status_code in {200, 400}, (page, response.status_code)


def _viewer() -> Any:
    from accounts.models import User

    return User.objects.filter(username="viewer").first() or make_user(username="viewer")


_tokens: dict[int, str] = {}


def _token(client: Client) -> str:
    from accounts.services import token_issue

    user = _viewer()
    if user.pk not in _tokens:
        _tokens.clear()
        _tokens[user.pk] = token_issue(login="viewer", password=PASSWORD, client_ip="127.0.0.1").secret
    return _tokens[user.pk]


def _channel(user: Any) -> Any:
    from interests.models import Channel
    from posts.services import post_create_text

    channel = Channel.objects.filter(name="Cursor walk").first()
    if channel is None:
        channel = make_channel(host=user, name="Cursor walk")
        post_create_text(author=user, channel=channel, text="one")
    return channel


NUMBERISH = st.one_of(
    TEXT,
    st.sampled_from(["1e400", "-1e400", "inf", "nan", "²", "٣", "9" * 5000, "9" * 30, "-5", "0x10", " 7 "]),
    st.integers(-(2**70), 2**70).map(str),
)


class TestDoors:
    """Query and form parameters read by views: a bad one is a 4xx or is ignored, never a 500."""

    @pytest.mark.django_db
    @FUZZ_DB
    @given(NUMBERISH, NUMBERISH, NUMBERISH)
    def test_a_stickers_square_never_fails(self, client: Client, x: str, y: str, size: str) -> None:
        from tests.hostile_files import jpeg_bytes, upload

        client.force_login(_viewer())
        image = upload(jpeg_bytes((200, 200)), "p.jpg", "image/jpeg")
        response = client.post("/stickers/new", {"image": image, "crop_x": x, "crop_y": y, "crop_size": size})
        assert response.status_code in {200, 302, 400, 409, 429}, response.status_code

    @pytest.mark.django_db
    @FUZZ_DB
    @given(NUMBERISH)
    def test_scrolling_back_through_a_chat_never_fails(self, client: Client, before: str) -> None:
        from chat import groups
        from chat.models import Conversation

        user = _viewer()
        group = Conversation.objects.filter(title="Walkers").first() or groups.group_create(owner=user, title="Walkers")
        client.force_login(user)
        response = client.get(f"/chats/{group.public_id}/older", {"before": before})
        assert response.status_code == 200

    @pytest.mark.django_db
    @FUZZ_DB
    @given(NUMBERISH)
    def test_an_operators_suspension_length_never_fails(self, client: Client, days: str) -> None:
        from django.contrib.auth.models import Permission

        operator = make_user(is_staff=True)
        operator.user_permissions.add(Permission.objects.get(codename="change_report"))
        person = make_user()
        client.force_login(operator)
        response = client.post(
            f"/ops/reports/user/{person.username}",
            {"action": "suspend", "username": person.username, "days": days, "reason": "spam"},
        )
        assert response.status_code in {200, 302, 400}, response.status_code

    @pytest.mark.django_db
    @FUZZ_DB
    @given(
        st.one_of(
            TEXT, st.sampled_from(["/\\evil.example", "/\\/evil.example", "//evil.example", "/%2F%2Fevil", "/ok"])
        )
    )
    def test_after_pressing_same_the_page_never_leaves_the_site(self, client: Client, next_url: str) -> None:
        from posts.services import post_create_text

        user = _viewer()
        post = post_create_text(author=user, channel=_channel(user), text="again")
        client.force_login(make_user())
        response = client.post(f"/p/{post.public_id}/same", {"next": next_url})
        assert response.status_code == 302
        assert post.sames.count() == 1  # pressed: the redirect below is the success path's
        location = response["Location"]
        assert location.startswith("/")
        assert not location.startswith(("//", "/\\"))
        assert "\\" not in location.split("?")[0][:2]
