import pytest
from django.core import signing
from django.urls import reverse

from accounts.models import User
from accounts.services import email_verify, user_change_email, user_register
from accounts.tokens import email_verification_token
from core.errors import ServiceError
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


def _refused(token: str) -> str:
    with pytest.raises(ServiceError) as caught:
        email_verify(token=token)
    return caught.value.code


class TestEmailVerify:
    def test_link_from_the_real_email_verifies_once(
        self, client, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that the emailed link verifies the address, and a second use is refused."""
        with django_capture_on_commit_callbacks(execute=True):
            user_register(email="fern@example.org", username="fern", password="lanterns over the lake", client_ip="x")
        [received] = smtp_server.wait_for("fern@example.org")
        link = received.link("/verify/")
        path = link.removeprefix("http://testserver")
        response = client.get(path, follow=True)
        assert "Your email is confirmed." in response.text
        assert User.objects.get(username="fern").email_verified
        again = client.get(path)
        assert again.status_code == 400
        assert "already used" in again.text

    def test_expired_link_is_refused(self, settings):
        user = make_user(email_verified=False)
        token = email_verification_token(user)
        settings.EMAIL_VERIFY_MAX_AGE = -1
        assert _refused(token) == "token_expired"
        user.refresh_from_db()
        assert not user.email_verified

    @pytest.mark.parametrize("token", ["", "garbage", "a:b:c", "signed with another salt"])
    def test_malformed_or_forged_tokens_are_refused(self, token):
        if token == "signed with another salt":
            token = signing.dumps({"u": "x"}, salt="other")
        assert _refused(token) == "token_invalid"

    def test_token_for_a_deleted_account_is_refused(self):
        user = make_user(email_verified=False)
        token = email_verification_token(user)
        user.delete()
        assert _refused(token) == "token_invalid"


class TestEmailChange:
    def test_new_address_takes_effect_only_after_its_link(
        self, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        user = make_user(username="maple", email="maple@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            user_change_email(user=user, new_email="New.Maple@Example.org", password=PASSWORD)
        user.refresh_from_db()
        assert user.email == "maple@example.org"
        assert user.pending_email == "new.maple@example.org"
        [link_mail] = smtp_server.wait_for("new.maple@example.org")
        token = link_mail.link("/verify/").rsplit("/", 1)[1]
        with django_capture_on_commit_callbacks(execute=True):
            email_verify(token=token)
        user.refresh_from_db()
        assert user.email == "new.maple@example.org"
        assert user.pending_email == ""
        assert user.email_verified
        [notice] = smtp_server.wait_for("maple@example.org")
        assert "was changed" in notice.subject
        assert _refused(token) == "token_used"

    def test_wrong_password_changes_nothing(self):
        user = make_user(email="maple@example.org")
        with pytest.raises(ServiceError) as caught:
            user_change_email(user=user, new_email="other@example.org", password="wrong")
        assert caught.value.code == "wrong_password"
        assert caught.value.field == "password"
        user.refresh_from_db()
        assert user.pending_email == ""

    def test_an_address_of_another_account_never_gets_a_link(
        self, immediate_tasks, django_capture_on_commit_callbacks, mailoutbox
    ):
        make_user(email="taken@example.org")
        user = make_user(email="maple@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            user_change_email(user=user, new_email="taken@example.org", password=PASSWORD)
        assert mailoutbox == []
        # Even a forged-looking token for it is refused, and the pending address is dropped.
        token = email_verification_token(User.objects.get(pk=user.pk))
        assert _refused(token) == "email_taken"
        user.refresh_from_db()
        assert user.email == "maple@example.org"
        assert user.pending_email == ""

    def test_settings_page_shows_errors_next_to_fields(self, client):
        user = make_user()
        client.force_login(user)
        response = client.post(reverse("accounts:settings_email"), {"email": "nope", "password": PASSWORD})
        assert response.status_code == 400
        assert response.context["form"].errors["email"] == ["This doesn't look like an email address."]
