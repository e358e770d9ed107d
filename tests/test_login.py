from unittest import mock

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.urls import reverse

from accounts.services import user_login
from core.errors import ServiceError
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


class TestUserLogin:
    @pytest.mark.parametrize("login", ["maple", "MAPLE", "maple@example.org", "Maple@Example.ORG", " maple "])
    def test_by_username_or_email(self, login):
        user = make_user(username="maple", email="maple@example.org")
        assert user_login(login=login, password=PASSWORD, client_ip="1.2.3.4") == user

    @pytest.mark.parametrize(
        ("login", "password"), [("maple", "wrong"), ("nobody", PASSWORD), ("no@where.org", PASSWORD), ("", "")]
    )
    def test_the_refusal_is_the_same_whether_or_not_the_account_exists(self, login, password):
        make_user(username="maple", email="maple@example.org")
        with pytest.raises(ServiceError) as caught:
            user_login(login=login, password=password, client_ip="1.2.3.4")
        assert caught.value.code == "invalid_credentials"
        assert caught.value.message == "Those details don't match an account."

    def test_an_unknown_login_costs_a_password_hash_too(self):
        """Ensure that timing can't tell an unknown login from a wrong password: both run the hasher."""
        make_user(username="maple")
        with (
            mock.patch.object(
                Argon2PasswordHasher, "encode", autospec=True, side_effect=Argon2PasswordHasher.encode
            ) as encode,
            pytest.raises(ServiceError),
        ):
            user_login(login="nobody", password="whatever", client_ip="1.2.3.4")
        assert encode.call_count == 1

    def test_suspended_accounts_cannot_log_in(self):
        make_user(username="maple", is_active=False)
        with pytest.raises(ServiceError):
            user_login(login="maple", password=PASSWORD, client_ip="1.2.3.4")

    def test_rate_limited_per_account_across_addresses(self, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_account": (3, 900)}
        make_user(username="maple")
        for ip in ["1.1.1.1", "2.2.2.2", "3.3.3.3"]:
            with pytest.raises(ServiceError):
                user_login(login="maple", password="wrong", client_ip=ip)
        with pytest.raises(ServiceError) as caught:
            user_login(login="maple", password=PASSWORD, client_ip="4.4.4.4")
        assert caught.value.code == "rate_limited"

    def test_rate_limited_per_ip_across_accounts(self, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": (2, 300)}
        for name in ["a1", "b2"]:
            with pytest.raises(ServiceError):
                user_login(login=name, password="x", client_ip="9.9.9.9")
        with pytest.raises(ServiceError) as caught:
            user_login(login="c3", password="x", client_ip="9.9.9.9")
        assert caught.value.code == "rate_limited"


class TestLoginPage:
    def test_logs_in_and_out(self, client):
        make_user(username="maple")
        response = client.post(reverse("accounts:login"), {"login": "maple", "password": PASSWORD})
        assert response.status_code == 302
        assert response["Location"] == reverse("core:home")
        assert "Hi, maple" in client.get(reverse("core:home")).text
        client.post(reverse("accounts:logout"))
        assert "Join same" in client.get(reverse("core:home")).text

    def test_wrong_password_shows_the_error_above_the_form(self, client):
        make_user(username="maple")
        response = client.post(reverse("accounts:login"), {"login": "maple", "password": "nope"})
        assert response.status_code == 400
        assert "Those details don&#x27;t match an account." in response.text

    def test_missing_fields_are_named(self, client):
        response = client.post(reverse("accounts:login"), {"login": "", "password": ""})
        assert response.status_code == 400
        assert set(response.context["form"].errors) == {"login", "password"}

    def test_next_only_goes_to_this_site(self, client):
        make_user(username="maple")
        response = client.post(
            reverse("accounts:login") + "?next=//evil.example/", {"login": "maple", "password": PASSWORD}
        )
        assert response["Location"] == reverse("core:home")

    def test_logout_needs_post(self, client):
        make_user(username="maple")
        client.login(username="maple", password=PASSWORD)
        assert client.get(reverse("accounts:logout")).status_code == 405

    def test_pages_behind_login_redirect(self, client):
        for name in ["accounts:me", "interests:explore", "chat:chats", "accounts:export"]:
            response = client.get(reverse(name))
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("accounts:login"))
