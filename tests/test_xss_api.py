"""The XSS corpus through the JSON API and the emails.

The API returns what people typed verbatim (escaping is the renderer's job: a native app shows text as text), and
the emails are plain text only, so nothing in them is ever parsed as HTML. The browser half, where pages are
rendered in Chromium, is tests/browser/test_xss_e2e.py.
"""

import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.services import token_issue
from accounts.usernames import clean_username
from tests.factories import PASSWORD
from tests.xss_corpus import Planted, payloads, plant

API = "/api/v1"
ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.django_db

SHOWN_BY_THE_API = [
    "channel name",
    "channel description",
    "channel rule",
    "text post",
    "photo caption",
    "song title",
    "song artist",
    "film title",
    "film review",
    "poll question",
    "poll option",
    "group title",
    "chat message",
    "knock",
    "sticker caption",
]


def _canonical(text: str) -> str:
    """Text with what the services may tidy taken out: width normalised, no spaces, no control characters."""
    return "".join(
        char
        for char in unicodedata.normalize("NFKC", text)
        if not char.isspace() and unicodedata.category(char)[0] != "C"
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _everything(client: Client, token: str, path: str, **params: str) -> list[Any]:
    """Every item of a list endpoint, following `next` to the end."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = client.get(API + path, query, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, (path, response.content[:300])
        assert response["Content-Type"].startswith("application/json")
        body = response.json()
        items.extend(body["items"])
        cursor = body.get("next")
        if not cursor:
            return items


@pytest.fixture
def planted(settings) -> Planted:
    settings.RATE_LIMITS = {scope: (10**6, window) for scope, (_limit, window) in settings.RATE_LIMITS.items()}
    return plant()


def test_the_corpus_is_large_and_varied() -> None:
    """Ensure that the committed corpus holds at least 200 distinct payloads of every family."""
    corpus = payloads()
    assert len(corpus) >= 200
    assert len(set(corpus)) == len(corpus)
    for family in ["<script", "onerror=", "javascript:", "<svg", "<math", "{{", "style=", "＜", "\u202e", "\u2028"]:
        assert any(family in item for item in corpus), family


def test_every_place_holds_the_whole_corpus(planted: Planted) -> None:
    """Ensure that every payload went into every place, as typed (or cut to the field's length)."""
    corpus = payloads()
    for place, values in planted.places.items():
        if place in {"punch note", "suspension reason", "knock"}:
            continue  # one value each: a single field, checked to hold the corpus's first payloads below
        stored = _canonical("\n".join(values))
        missing = [item for item in corpus if _canonical(item)[:20] not in stored]
        assert not missing, (place, missing[:3])
    assert planted.places["punch note"] == [corpus[0][:140]]


def test_the_api_returns_every_payload_verbatim(client: Client, planted: Planted) -> None:
    """Ensure that what people typed comes back from the API exactly as stored: no escaping, no stripping."""
    token = token_issue(login="viewer", password=PASSWORD, client_ip="127.0.0.1").secret
    seen: set[str] = set()
    for item in _everything(client, token, "/channels", sort="new"):
        seen.update(_strings(item))
    for channel in planted.post_channels.values():
        for item in _everything(client, token, f"/channels/{channel.public_id}/posts"):
            seen.update(_strings(item))
    for conversation in _everything(client, token, "/conversations"):
        seen.update(_strings(conversation))
    for conversation_id in (planted.group_chat_id, planted.knock_chat_id):
        for message in _everything(client, token, f"/conversations/{conversation_id}/messages"):
            seen.update(_strings(message))
    for sticker in _everything(client, token, "/stickers"):
        seen.update(_strings(sticker))
    for place in SHOWN_BY_THE_API:
        missing = [value for value in planted.places[place] if value not in seen]
        assert not missing, (place, len(missing), missing[:2])
    assert not any("&lt;" in value and "&lt;" not in "".join(payloads()) for value in seen)


def test_account_emails_are_plain_text_only(client: Client, settings, django_capture_on_commit_callbacks) -> None:
    """Ensure that no email the app sends has an HTML part: user text in an email is never parsed as markup."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    corpus = payloads()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            API + "/auth/register",
            {"email": "new@example.org", "username": "newcomer", "password": PASSWORD},
            content_type="application/json",
        )
        assert response.status_code == 201
        client.post(API + "/auth/password-reset", {"email": "new@example.org"}, content_type="application/json")
    # There is no HTML email template to escape in at all.
    assert not list(ROOT.glob("*/templates/*/email/*.html"))
    assert len(mail.outbox) >= 2
    for message in mail.outbox:
        assert not getattr(message, "alternatives", []), message.subject
        assert message.content_subtype == "plain"
    # A username is the only user text an account email carries, and no payload passes as one.
    for item in corpus:
        with pytest.raises(ValidationError):
            clean_username(item)
