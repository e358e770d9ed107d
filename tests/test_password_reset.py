import re

import pytest
from django.urls import reverse

from accounts.models import AccessToken
from accounts.services import password_reset_confirm, password_reset_request
from core.errors import ServiceError
from tests.factories import make_user

pytestmark = pytest.mark.django_db

NEW = "a new moon over the hills"


class TestPasswordReset:
    def test_link_from_the_real_email_sets_a_new_password_once(
        self, client, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        user = make_user(username="maple", email="maple@example.org")
        AccessToken.objects.create(user=user, digest="d" * 64)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("accounts:password_reset"), {"email": "Maple@example.org"})
        assert "Check your inbox" in response.text
        [received] = smtp_server.wait_for("maple@example.org")
        path = received.link("/password/reset/").removeprefix("http://testserver")
        assert client.get(path).status_code == 200
        response = client.post(path, {"new_password": NEW})
        assert response.status_code == 302
        user.refresh_from_db()
        assert user.check_password(NEW)
        assert not AccessToken.objects.filter(user=user).exists()  # every app is signed out
        again = client.get(path)
        assert again.status_code == 400
        assert "not valid any more" in again.text

    def test_unknown_address_gets_the_same_answer_and_no_email(
        self, client, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        make_user(email="maple@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            known = client.post(reverse("accounts:password_reset"), {"email": "maple@example.org"})
            unknown = client.post(reverse("accounts:password_reset"), {"email": "nobody@example.org"})
        assert known.status_code == unknown.status_code == 200

        def normalised(text: str, address: str) -> str:
            text = re.sub(r'nonce="[^"]+"', "", text)
            text = re.sub(r'"X-CSRFToken": "[^"]+"', "", text)
            return text.replace(address, "ADDRESS")

        assert normalised(known.text, "maple@example.org") == normalised(unknown.text, "nobody@example.org")
        smtp_server.wait_for("maple@example.org")
        assert smtp_server.to("nobody@example.org") == []

    def test_weak_new_password_is_refused_and_the_old_one_kept(self):
        user = make_user()
        from accounts.tokens import password_reset_token

        token = password_reset_token(user)
        with pytest.raises(ServiceError) as caught:
            password_reset_confirm(token=token, new_password="123")
        assert caught.value.field == "new_password"
        user.refresh_from_db()
        assert not user.check_password("123")

    @pytest.mark.parametrize("token", ["", "nodot", "abc.def", "x" * 500])
    def test_bad_tokens_are_refused(self, client, token):
        with pytest.raises(ServiceError) as caught:
            password_reset_confirm(token=token, new_password=NEW)
        assert caught.value.code == "token_invalid"

    def test_bad_email_is_an_error_next_to_the_field(self, client):
        response = client.post(reverse("accounts:password_reset"), {"email": "not an email"})
        assert response.status_code == 400
        assert response.context["form"].errors["email"]

    def test_rate_limited_per_address(self, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "reset_account": (2, 3600)}
        password_reset_request(email="maple@example.org", client_ip="1.1.1.1")
        password_reset_request(email="MAPLE@example.org", client_ip="2.2.2.2")
        with pytest.raises(ServiceError) as caught:
            password_reset_request(email="maple@example.org", client_ip="3.3.3.3")
        assert caught.value.code == "rate_limited"
