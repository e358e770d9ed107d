"""core.kept: placeholders for per-request values that no written text can hold."""

import re
from datetime import timedelta

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from core.kept import placeholder, put_in
from tests.factories import make_user


def test_a_placeholder_survives_escaping_and_cannot_be_guessed() -> None:
    held = placeholder("csrf")
    assert escape(held) == held  # rendered through autoescape, it stays as it is
    assert placeholder("csrf") != held  # random: a channel's description can't carry it to get a token put in
    assert put_in(f'<p>0channel0head0csrf0</p><input value="{held}">', held, 'a"b') == (
        '<p>0channel0head0csrf0</p><input value="a&quot;b">'
    )


class TestKeep:
    """`{% keep %}` (core/templatetags/keep.py): a stretch of the shell rendered once per value and reused."""

    def test_a_kept_stretch_follows_its_values_and_each_requests_token_and_nonce(self) -> None:
        """Ensure that a kept stretch shows each new value at once, and each render's own CSRF token and nonce."""
        page = Template(
            "{% load keep %}{% keep who %}<p>{{ who }}</p>{% csrf_token %}"
            '<script nonce="{{ csp_nonce }}"></script>{% endkeep %}'
        )
        first = page.render(Context({"who": "owl", "csrf_token": "tok1", "csp_nonce": "n1"}))
        assert first == (
            '<p>owl</p><input type="hidden" name="csrfmiddlewaretoken" value="tok1"><script nonce="n1"></script>'
        )
        again = page.render(Context({"who": "owl", "csrf_token": "tok2", "csp_nonce": "n2"}))
        assert again == first.replace("tok1", "tok2").replace("n1", "n2")
        assert "<p>lark</p>" in page.render(Context({"who": "lark", "csrf_token": "tok3", "csp_nonce": "n3"}))
        # no token, no nonce: as the template wrote it without them, not a placeholder
        bare = page.render(Context({"who": "owl"}))
        assert bare == '<p>owl</p><script nonce=""></script>'
        # True and 1 are equal keys; the template tells them apart
        flag = Template("{% load keep %}{% keep v %}{{ v }}{% endkeep %}")
        assert flag.render(Context({"v": True})) == "True"
        assert flag.render(Context({"v": 1})) == "1"

    def test_two_stretches_of_one_template_are_kept_apart(self) -> None:
        page = Template("{% load keep %}{% keep %}a{% endkeep %}{% keep %}b{% endkeep %}")
        assert page.render(Context({})) == "ab"
        assert page.render(Context({})) == "ab"

    def test_a_block_inside_is_refused(self) -> None:
        """Ensure that a `{% block %}` (which a page fills from its own context) cannot be kept."""
        with pytest.raises(TemplateSyntaxError, match="cannot hold a"):
            Template("{% load keep %}{% keep %}{% block title %}x{% endblock %}{% endkeep %}")


@pytest.mark.django_db
def test_the_shells_banners_follow_the_person_at_once(client) -> None:
    """Ensure that base.html's kept banners show an unverified email and a suspension as they change, the
    resend form with the page's own CSRF token."""
    csrf_client = Client(enforce_csrf_checks=True)
    person = make_user(email_verified=False)
    csrf_client.force_login(person)
    text = csrf_client.get(reverse("interests:explore")).text
    assert "Confirm your email" in text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text)
    assert token is not None
    assert csrf_client.cookies["csrftoken"]
    sent = csrf_client.post(reverse("accounts:verify_resend"), {"csrfmiddlewaretoken": token.group(1)})
    assert sent.status_code in (200, 302)
    User.objects.filter(pk=person.pk).update(email_verified=True)
    assert "Confirm your email" not in csrf_client.get(reverse("interests:explore")).text
    User.objects.filter(pk=person.pk).update(suspended_until=timezone.now() + timedelta(days=3), suspension_reason="x")
    assert "You can still read." in csrf_client.get(reverse("interests:explore")).text
    User.objects.filter(pk=person.pk).update(suspended_until=None)
    assert "You can still read." not in csrf_client.get(reverse("interests:explore")).text
