"""The session cookie across a sign-in: a late answer to the old cookie must not sign the person out
(accounts/sessions.py)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

COOKIE = settings.SESSION_COOKIE_NAME


def test_a_late_answer_to_the_old_cookie_leaves_the_new_session_signed_in():
    make_user(username="maple")
    browser = Client()
    # Before signing in the browser holds an anonymous session (sign-up keeps the address it sent the mail to).
    session = browser.session
    session["signup_email"] = "maple@example.org"
    session.save()
    old_key = session.session_key
    assert old_key is not None
    browser.cookies[COOKIE] = old_key

    response = browser.post(reverse("accounts:login"), {"login": "maple", "password": PASSWORD})
    assert response.status_code == 302
    new_key = browser.cookies[COOKIE].value
    assert new_key != old_key, "signing in gives a new session key"

    # What the service worker sent with the old cookie just before the sign-in comes back after it.
    late = Client()
    late.cookies[COOKIE] = old_key
    for path in ("/offline", "/sw.js", reverse("accounts:login"), "/"):
        answer = late.get(path)
        assert answer.status_code == 200, path
        assert COOKIE not in answer.cookies, f"{path} answered the old cookie with {answer.cookies[COOKIE]}"
        assert "Cookie" in answer["Vary"], f"{path} read the session, so it varies on the cookie"

    # The browser still holds the new key, and it still signs the person in.
    assert browser.cookies[COOKIE].value == new_key
    me = browser.get(reverse("accounts:me"))
    assert me.status_code == 200
    assert b"maple" in me.content


def test_signing_out_still_clears_the_cookie():
    make_user(username="maple")
    browser = Client()
    browser.post(reverse("accounts:login"), {"login": "maple", "password": PASSWORD})
    key = browser.cookies[COOKIE].value
    assert key

    response = browser.post(reverse("accounts:logout"))
    assert response.cookies[COOKIE].value == ""
    assert response.cookies[COOKIE]["max-age"] == 0
    assert browser.get(reverse("accounts:me"))["Location"].startswith(reverse("accounts:login"))
    # The old key opens nothing, and a request carrying it is answered as anyone's.
    stale = Client()
    stale.cookies[COOKIE] = key
    assert stale.get(reverse("accounts:me"))["Location"].startswith(reverse("accounts:login"))


def test_a_dead_cookie_is_replaced_when_the_request_stores_something():
    """An anonymous request that stores something in its session (sign-up's address) gets a fresh key: a dead one is
    only left alone when nothing is stored."""
    browser = Client()
    browser.cookies[COOKIE] = "deadbeef" * 4
    response = browser.post(
        reverse("accounts:signup"),
        {"email": "new@example.org", "username": "newcomer", "password": "a long enough password 1"},
    )
    assert response.status_code == 302
    new_key = response.cookies[COOKIE].value
    assert new_key
    assert new_key != "deadbeef" * 4
