import pytest
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.services import user_register
from core.errors import ServiceError, ValidationFailed
from tests.factories import make_user

pytestmark = pytest.mark.django_db

STRONG = "lanterns over the lake"


def register(**overrides):
    values = {"email": "fern@example.org", "username": "fern", "password": STRONG, "client_ip": "10.0.0.1"}
    values.update(overrides)
    return user_register(**values)


class TestUserRegister:
    def test_creates_an_unverified_account_and_emails_a_link(
        self, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that sign-up stores the person and sends a verification link over SMTP."""
        with django_capture_on_commit_callbacks(execute=True):
            registration = register(email="Fern@Example.org", time_zone="Asia/Shanghai", language="zh-hans")
        user = User.objects.get(username="fern")
        assert registration.user == user
        assert user.email == "fern@example.org"
        assert not user.email_verified
        assert user.timezone == "Asia/Shanghai"
        assert user.language == "zh-hans"
        assert user.check_password(STRONG)
        assert user.password.startswith("argon2")
        [received] = smtp_server.wait_for("fern@example.org")
        assert "/verify/" in received.link("/verify/")

    def test_the_email_is_rendered_in_the_persons_language(self, immediate_tasks, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            register(language="zh-hans")
        [message] = mail.outbox
        assert "fern" in message.body

    def test_taken_username_is_refused_even_as_a_look_alike(self):
        make_user(username="maple")
        for variant in ["maple", "MAPLE", "ｍａｐｌｅ"]:
            with pytest.raises(ValidationFailed) as caught:
                register(username=variant)
            assert caught.value.fields["username"] == ["This username is taken."]
        assert User.objects.count() == 1

    def test_taken_email_answers_the_same_and_tells_its_owner(
        self, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that sign-up never reveals whether an email is registered."""
        make_user(username="maple", email="maple@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            registration = register(email="MAPLE@example.org", username="someone_else")
        assert registration.username == "someone_else"
        assert registration.user is None
        assert not User.objects.filter(username="someone_else").exists()
        [notice] = smtp_server.wait_for("maple@example.org")
        assert "already has one" in notice.body
        assert "/verify/" not in notice.body

    def test_reports_every_bad_field_at_once_and_writes_nothing(self):
        with pytest.raises(ValidationFailed) as caught:
            register(email="not-an-email", username="a", password="123", time_zone="Mars/Olympus", language="xx")
        assert set(caught.value.fields) == {"email", "username", "password", "timezone", "language"}
        assert User.objects.count() == 0

    @pytest.mark.parametrize(
        ("field", "value", "code_fragment"),
        [
            ("email", "", "Enter your email"),
            ("email", "a" * 250 + "@x.org", "at most 254"),
            ("password", "", "Choose a password"),
            ("password", "x" * 300, "at most 256"),
            ("password", "password", "too common"),
            ("password", "fern@example.org", "too similar"),
        ],
    )
    def test_bad_values(self, field, value, code_fragment):
        with pytest.raises(ValidationFailed) as caught:
            register(**{field: value})
        assert code_fragment in " ".join(caught.value.fields[field])
        assert User.objects.count() == 0

    def test_is_rate_limited_per_ip(self, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": (2, 3600)}
        register(username="one", email="one@example.org")
        register(username="two", email="two@example.org")
        with pytest.raises(ServiceError) as caught:
            register(username="three", email="three@example.org")
        assert caught.value.code == "rate_limited"
        assert caught.value.status == 429
        register(username="three", email="three@example.org", client_ip="10.0.0.2")
        assert User.objects.count() == 3


class TestSignupPage:
    def test_signs_up_and_shows_check_your_inbox(self, client, immediate_tasks, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("accounts:signup"),
                {"email": "fern@example.org", "username": "fern", "password": STRONG, "timezone": "Europe/Paris"},
                follow=True,
            )
        assert response.status_code == 200
        assert "Check your inbox" in response.text
        assert User.objects.get(username="fern").timezone == "Europe/Paris"
        assert len(mail.outbox) == 1

    def test_a_taken_email_gets_the_very_same_page(self, client, immediate_tasks, django_capture_on_commit_callbacks):
        make_user(username="maple", email="maple@example.org")
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("accounts:signup"),
                {"email": "maple@example.org", "username": "fern", "password": STRONG, "timezone": ""},
                follow=True,
            )
        assert response.status_code == 200
        assert "Check your inbox" in response.text
        assert "maple@example.org" in response.text  # the address they typed, echoed to them alone
        assert mail.outbox[0].to == ["maple@example.org"]

    def test_errors_are_shown_next_to_the_field(self, client):
        make_user(username="maple")
        response = client.post(
            reverse("accounts:signup"), {"email": "x@example.org", "username": "Maple", "password": "short"}
        )
        assert response.status_code == 400
        form = response.context["form"]
        assert form.errors["username"] == ["This username is taken."]
        assert "password" in form.errors
        assert User.objects.count() == 1

    def test_rate_limit_answers_429_with_retry_after(self, client, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "signup_ip": (1, 3600)}
        data = {"email": "a@example.org", "username": "first", "password": STRONG}
        client.post(reverse("accounts:signup"), data)
        response = client.post(reverse("accounts:signup"), {**data, "email": "b@example.org", "username": "second"})
        assert response.status_code == 429
        assert int(response["Retry-After"]) > 0
        assert "Too many attempts" in response.text


class TestUsernameCheck:
    def test_tells_free_and_taken(self, client):
        make_user(username="maple")
        free = client.get(reverse("accounts:username_check"), {"username": "willow"})
        assert "is yours if you want it" in free.text
        taken = client.get(reverse("accounts:username_check"), {"username": "MAPLE"})
        assert "This username is taken." in taken.text

    def test_is_rate_limited(self, client, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "username_check_ip": (3, 60)}
        for _ in range(3):
            assert client.get(reverse("accounts:username_check"), {"username": "willow"}).status_code == 200
        response = client.get(reverse("accounts:username_check"), {"username": "willow"})
        assert response.status_code == 429
        assert "Retry-After" in response
