"""core.kept: placeholders for per-request values that no written text can hold."""

from django.utils.html import escape

from core.kept import placeholder, put_in


def test_a_placeholder_survives_escaping_and_cannot_be_guessed() -> None:
    held = placeholder("csrf")
    assert escape(held) == held  # rendered through autoescape, it stays as it is
    assert placeholder("csrf") != held  # random: a channel's description can't carry it to get a token put in
    assert put_in(f'<p>0channel0head0csrf0</p><input value="{held}">', held, 'a"b') == (
        '<p>0channel0head0csrf0</p><input value="a&quot;b">'
    )
