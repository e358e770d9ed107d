"""Rendered fragments kept between requests under a key of every value they read.

A fragment that reads only a few values (the tab bar: the page and the language; a channel's card: its name,
counts, the visitor's membership…) is rendered once per combination and reused; any value that changes makes
another key, so a change shows at once. Each store holds at most `limit` fragments (then the lot is dropped)
and every store forgets everything when a setting changes (tests switch languages, prefixes and storages).
A per-request value (a CSP nonce, a CSRF token) is rendered as a placeholder and put in on each page."""

import secrets
from collections.abc import Callable, Hashable

from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_stores: list["Kept"] = []


class Kept:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._kept: dict[Hashable, str] = {}
        _stores.append(self)

    def get(self, key: Hashable, render: Callable[[], str]) -> str:
        """The fragment kept under `key`, rendered by `render` the first time."""
        html = self._kept.get(key)
        if html is None:
            if len(self._kept) >= self.limit:
                self._kept.clear()
            html = self._kept[key] = render()
        return html

    def clear(self) -> None:
        self._kept.clear()


def placeholder(name: str) -> str:
    """A placeholder for a per-request value in kept fragments: letters and digits only, so escaping leaves it as it
    is, and random per process, so no text a person writes into a fragment (a channel's description) can hold it."""
    return f"0{name}0{secrets.token_hex(12)}0"


def put_in(html: str, placeholder: str, value: object) -> SafeString:
    """`html` with this request's `value`, escaped, where the kept fragment holds `placeholder` (letters and digits
    only, so escaping left it as it was)."""
    return mark_safe(html.replace(placeholder, escape(str(value))))  # noqa: S308  (a rendered template; the value escaped)


@receiver(setting_changed)
def _forget(setting: str, **kwargs: object) -> None:
    for store in _stores:
        store.clear()
