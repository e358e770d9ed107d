import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from accounts.usernames import clean_username, username_key


class TestUsernameKey:
    @pytest.mark.parametrize("variant", ["alice", "Alice", "ALICE", "ａｌｉｃｅ", "аlice", "alicе"])
    def test_look_alikes_share_one_key(self, variant):
        """Ensure that case, full width and Cyrillic look-alike letters fold to the same key."""
        assert username_key(variant) == username_key("alice") == "alice"

    def test_chinese_names_keep_their_letters(self):
        assert username_key("小雨") == "小雨"
        assert username_key("小雨") != username_key("小雪")

    @given(st.text(min_size=1, max_size=30))
    def test_key_is_idempotent(self, text):
        assert username_key(username_key(text)) == username_key(text)


class TestCleanUsername:
    @pytest.mark.parametrize("name", ["maple", "night_owl", "小雨", "Ana2026", "ｍａｐｌｅ"])
    def test_accepts(self, name):
        clean_username(name)

    def test_full_width_is_stored_normalised(self):
        assert clean_username("ｍａｐｌｅ") == "maple"

    @pytest.mark.parametrize(
        ("name", "code"),
        [
            ("", "required"),
            ("ab", "too_short"),
            ("x" * 31, "too_long"),
            ("has space", "invalid_characters"),
            ("semi;colon", "invalid_characters"),
            ("<script>", "invalid_characters"),
            ("аlice", "confusable"),  # Cyrillic а among Latin letters
            ("Admin", "reserved"),
        ],
    )
    def test_refuses(self, name, code):
        with pytest.raises(ValidationError) as caught:
            clean_username(name)
        assert caught.value.code == code
