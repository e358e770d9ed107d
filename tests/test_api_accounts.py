import json

import pytest
from django.test import Client

from accounts.models import AccessToken, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db

API = "/api/v1"
STRONG = "lanterns over the lake"


def post(client: Client, path: str, body: dict | None = None, **headers):
    return client.post(API + path, json.dumps(body or {}), content_type="application/json", headers=headers)


@pytest.fixture
def token(client):
    make_user(username="maple", email="maple@example.org")
    return post(client, "/auth/token", {"login": "maple", "password": PASSWORD, "name": "phone"}).json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response, status: int, code: str, fields: set[str] | None = None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == code
    assert body["message"]
    if fields is not None:
        assert set(body["fields"]) == fields


class TestRegisterAndVerify:
    def test_walks_register_verify_token_me(
        self, client, smtp_server, immediate_tasks, django_capture_on_commit_callbacks
    ):
        with django_capture_on_commit_callbacks(execute=True):
            response = post(
                client, "/auth/register", {"email": "fern@example.org", "username": "fern", "password": STRONG}
            )
        assert response.status_code == 201
        assert response.json() == {"username": "fern"}
        [received] = smtp_server.wait_for("fern@example.org")
        verify_token = received.link("/verify/").rsplit("/", 1)[1]
        assert post(client, "/auth/verify", {"token": verify_token}).status_code == 200
        assert_error(post(client, "/auth/verify", {"token": verify_token}), 400, "token_used", {"token"})
        token = post(client, "/auth/token", {"login": "fern@example.org", "password": STRONG}).json()["token"]
        me = client.get(API + "/me", headers=bearer(token))
        assert me.json() == {
            "username": "fern",
            "email": "fern@example.org",
            "timezone": "UTC",
            "language": "en",
            "email_verified": True,
            "pending_email": None,
            "sound_on": True,
        }

    def test_bad_input_names_the_fields(self, client):
        assert_error(post(client, "/auth/register", {"email": "x"}), 400, "invalid", {"username", "password"})
        assert_error(
            post(client, "/auth/register", {"email": "x", "username": "a b", "password": "1"}),
            400,
            "invalid",
            {"email", "username", "password"},
        )
        assert User.objects.count() == 0

    def test_malformed_json_is_a_400_not_a_500(self, client):
        response = client.post(API + "/auth/register", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert response.json()["code"]

    def test_duplicate_email_looks_like_success(self, client):
        make_user(email="maple@example.org")
        response = post(
            client, "/auth/register", {"email": "maple@example.org", "username": "fern", "password": STRONG}
        )
        assert response.status_code == 201
        assert User.objects.count() == 1

    def test_username_check(self, client):
        make_user(username="maple")
        assert client.get(API + "/auth/username", {"username": "willow"}).json() == {
            "username": "willow",
            "available": True,
        }
        assert_error(client.get(API + "/auth/username", {"username": "Maple"}), 400, "username_taken", {"username"})


class TestTokens:
    def test_wrong_password_and_unknown_login_answer_alike(self, client):
        make_user(username="maple")
        wrong = post(client, "/auth/token", {"login": "maple", "password": "x"})
        unknown = post(client, "/auth/token", {"login": "nobody", "password": "x"})
        assert_error(wrong, 400, "invalid_credentials")
        assert wrong.json() == unknown.json()

    def test_rate_limit_carries_retry_after(self, client, settings):
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": (1, 300)}
        post(client, "/auth/token", {"login": "a", "password": "x"})
        response = post(client, "/auth/token", {"login": "a", "password": "x"})
        assert_error(response, 429, "rate_limited")
        assert 0 < int(response["Retry-After"]) <= 300

    def test_only_a_digest_is_stored_and_revoking_signs_out(self, client, token):
        stored = AccessToken.objects.get()
        assert token not in stored.digest
        listed = client.get(API + "/me/tokens", headers=bearer(token)).json()["items"]
        assert [t["name"] for t in listed] == ["phone"]
        assert client.delete(f"{API}/me/tokens/{listed[0]['id']}", headers=bearer(token)).status_code == 204
        assert_error(client.get(API + "/me", headers=bearer(token)), 401, "unauthorized")

    @pytest.mark.parametrize("header", ["", "Bearer", "Bearer nonsense", "Bearer same_forged", "Basic abc"])
    def test_missing_or_bad_tokens_are_401(self, client, header):
        headers = {"Authorization": header} if header else {}
        assert_error(client.get(API + "/me", headers=headers), 401, "unauthorized")


class TestMe:
    def test_update_validates_every_field(self, client, token):
        response = client.patch(
            API + "/me",
            json.dumps({"timezone": "Nowhere/Land", "language": "xx"}),
            content_type="application/json",
            headers=bearer(token),
        )
        assert_error(response, 400, "invalid", {"timezone", "language"})
        response = client.patch(
            API + "/me", json.dumps({"timezone": "Asia/Tokyo"}), content_type="application/json", headers=bearer(token)
        )
        assert response.json()["timezone"] == "Asia/Tokyo"

    def test_export_and_delete(self, client, token):
        export = client.get(API + "/me/export", headers=bearer(token)).json()
        assert export["account"]["email"] == "maple@example.org"
        wrong = client.delete(
            API + "/me", json.dumps({"password": "no"}), content_type="application/json", headers=bearer(token)
        )
        assert_error(wrong, 400, "wrong_password", {"password"})
        done = client.delete(
            API + "/me", json.dumps({"password": PASSWORD}), content_type="application/json", headers=bearer(token)
        )
        assert done.status_code == 204
        assert not User.objects.exists()

    def test_session_cookie_works_with_csrf_and_refuses_without(self):
        user = make_user(username="maple")
        client = Client(enforce_csrf_checks=True)
        client.force_login(user)
        assert client.get(API + "/me").json()["username"] == "maple"
        without = client.patch(API + "/me", json.dumps({"timezone": "Asia/Tokyo"}), content_type="application/json")
        assert without.status_code in {401, 403}
        user.refresh_from_db()
        assert user.timezone == "UTC"
        client.get("/me")  # sets the CSRF cookie
        csrf = client.cookies["csrftoken"].value
        with_token = client.patch(
            API + "/me",
            json.dumps({"timezone": "Asia/Tokyo"}),
            content_type="application/json",
            headers={"X-CSRFToken": csrf},
        )
        assert with_token.status_code == 200

    def test_nobody_elses_email_ever_appears(self, client, token):
        make_user(username="other", email="other@example.org")
        for path in ["/me", "/me/export", "/me/tokens"]:
            assert "other@example.org" not in client.get(API + path, headers=bearer(token)).text


class TestOpenApi:
    def test_schema_documents_the_error_shape(self, client):
        schema = client.get(API + "/openapi.json").json()
        assert "/api/v1/auth/register" in schema["paths"]
        responses = schema["paths"]["/api/v1/auth/register"]["post"]["responses"]
        assert {"201", "400", "429"} <= set(responses)
        assert "ErrorOut" in schema["components"]["schemas"]

    def test_docs_page(self, client):
        assert client.get(API + "/docs").status_code == 200
