import json

import pytest
from django.urls import reverse

from accounts.deletion import register_deletion_step
from accounts.models import AccessToken, User
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client):
    user = make_user(username="maple", email="maple@example.org")
    client.force_login(user)
    return user


class TestProfile:
    def test_changes_username_time_zone_and_language(self, client, signed_in):
        response = client.post(
            reverse("accounts:settings_profile"),
            {"username": "Willow", "timezone": "Asia/Tokyo", "language": "zh-hans"},
        )
        assert response.status_code == 302
        signed_in.refresh_from_db()
        assert (signed_in.username, signed_in.username_key, signed_in.timezone, signed_in.language) == (
            "Willow",
            "willow",
            "Asia/Tokyo",
            "zh-hans",
        )
        page = client.get(reverse("accounts:me"))
        assert page["Content-Language"] == "zh-hans"
        assert "Asia/Tokyo" in page.text

    def test_sound_can_be_turned_off(self, client, signed_in):
        client.post(reverse("accounts:settings_profile"), {"username": "maple", "timezone": "UTC", "language": "en"})
        signed_in.refresh_from_db()
        assert signed_in.sound_on is False  # an unticked box is off
        client.post(
            reverse("accounts:settings_profile"),
            {"username": "maple", "timezone": "UTC", "language": "en", "sound_on": "on"},
        )
        signed_in.refresh_from_db()
        assert signed_in.sound_on is True

    def test_taken_username_and_bad_zone_are_shown_and_nothing_saved(self, client, signed_in):
        make_user(username="willow")
        response = client.post(
            reverse("accounts:settings_profile"), {"username": "WILLOW", "timezone": "Asia/Tokyo", "language": "en"}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["username"] == ["This username is taken."]
        signed_in.refresh_from_db()
        assert signed_in.username == "maple"
        assert signed_in.timezone == "UTC"

    def test_keeping_ones_own_name_in_another_case_is_fine(self, client, signed_in):
        response = client.post(
            reverse("accounts:settings_profile"), {"username": "Maple", "timezone": "UTC", "language": "en"}
        )
        assert response.status_code == 302
        signed_in.refresh_from_db()
        assert signed_in.username == "Maple"


class TestPasswordChange:
    def test_changes_and_keeps_the_session(self, client, signed_in):
        response = client.post(
            reverse("accounts:settings_password"), {"old_password": PASSWORD, "new_password": "winter light on snow"}
        )
        assert response.status_code == 302
        signed_in.refresh_from_db()
        assert signed_in.check_password("winter light on snow")
        assert client.get(reverse("accounts:me")).status_code == 200

    def test_wrong_current_password(self, client, signed_in):
        response = client.post(
            reverse("accounts:settings_password"), {"old_password": "x", "new_password": "winter light on snow"}
        )
        assert response.status_code == 400
        assert response.context["form"].errors["old_password"] == ["That password isn't right."]
        signed_in.refresh_from_db()
        assert signed_in.check_password(PASSWORD)


class TestExport:
    def test_downloads_everything_about_me_and_nobody_else(self, client, signed_in):
        make_user(username="other", email="other@example.org")
        AccessToken.objects.create(user=signed_in, digest="a" * 64, name="phone")
        response = client.get(reverse("accounts:export"))
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith('attachment; filename="same-export-')
        data = json.loads(response.content)
        assert data["account"]["username"] == "maple"
        assert data["account"]["email"] == "maple@example.org"
        assert data["tokens"][0]["name"] == "phone"
        assert "digest" not in json.dumps(data)
        assert "other@example.org" not in response.text


class TestDelete:
    def test_asks_for_the_password_then_removes_everything(self, client, signed_in, tmp_path):
        removed = []
        cleanup = register_deletion_step(lambda user: removed.append(user.username))
        AccessToken.objects.create(user=signed_in, digest="b" * 64)
        try:
            wrong = client.post(reverse("accounts:delete"), {"password": "nope"})
            assert wrong.status_code == 400
            assert User.objects.filter(pk=signed_in.pk).exists()
            assert removed == []
            response = client.post(reverse("accounts:delete"), {"password": PASSWORD})
        finally:
            from accounts import deletion

            deletion._steps.remove(cleanup)
        assert response.status_code == 200
        assert "Your account is gone" in response.text
        assert not User.objects.filter(pk=signed_in.pk).exists()
        assert not AccessToken.objects.exists()
        assert removed == ["maple"]
        assert client.get(reverse("accounts:me")).status_code == 302  # logged out


def test_the_export_holds_what_the_person_made(client):
    from interests.services import channel_join
    from posts.services import post_create_text, same_add
    from punches.services import punch_in
    from tests.factories import make_channel

    person = make_user(username="maple")
    other = make_user(username="other")
    talk = make_channel(name="Talk", host=person)
    birds = make_channel(name="Birds", kind="punch", category="rituals", host=other)
    channel_join(user=person, channel=birds)
    post_create_text(author=person, channel=talk, text="my words")
    theirs = post_create_text(
        author=other, channel=birds if False else make_channel(name="Theirs", host=other), text="theirs"
    )
    same_add(user=person, post=theirs)
    punch_in(user=person, channel=birds, note="up")
    client.force_login(person)
    data = json.loads(client.get(reverse("accounts:export")).content)
    assert [p["text"] for p in data["posts"] if p["kind"] == "text"] == ["my words"]
    assert data["same"][0]["post"] == theirs.public_id
    assert {c["name"]: c["host"] for c in data["channels"]} == {"Talk": True, "Birds": False}
    assert data["punches"][0]["note"] == "up"
    assert "theirs" not in json.dumps(data["posts"])


def test_apps_signed_in_are_listed_and_can_be_signed_out(client):
    person = make_user(username="phoneuser")
    issued = client.post(
        "/api/v1/auth/token",
        json.dumps({"login": "phoneuser", "password": PASSWORD, "name": "My phone"}),
        content_type="application/json",
    ).json()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    client.force_login(person)
    page = client.get("/me").content.decode()
    assert "My phone" in page
    assert issued["token"] not in page  # the secret is never shown again
    assert client.post(f"/me/apps/{issued['id']}/sign-out").status_code == 302
    client.logout()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    client.force_login(make_user())
    assert client.post(f"/me/apps/{issued['id']}/sign-out").status_code == 302  # someone else's: nothing happens
