import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from chat.selectors import conversation_rows
from core.demo import DEMO_PASSWORD
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def test_seed_demo_fills_an_empty_database_once(capsys):
    call_command("seed_demo", "--if-empty")
    assert User.objects.count() >= 5
    demo = User.objects.get(username="demo")
    assert demo.check_password(DEMO_PASSWORD)
    chats = {(row.name, row.conversation.state, row.is_request_to_me) for row in conversation_rows(user=demo)}
    assert chats == {("night_owl", "active", False), ("sunflower", "request", True), ("Night owls", "active", False)}
    call_command("seed_demo", "--if-empty")
    assert "leaving it as it is" in capsys.readouterr().out
    assert User.objects.filter(username="demo").count() == 1


class TestShell:
    def test_signed_out_visitors_see_the_welcome(self, client):
        response = client.get("/")
        assert "Join same" in response.text
        assert 'class="tabs"' not in response.text

    def test_signed_in_pages_have_the_four_tabs(self, client):
        client.force_login(make_user())
        for name in ["core:home", "interests:explore", "chat:chats", "accounts:me"]:
            response = client.get(reverse(name))
            assert response.status_code == 200
            for label in ["Home", "Explore", "Chats", "Me"]:
                assert f"<span>{label}</span>" in response.text
            assert 'aria-current="page"' in response.text

    def test_unverified_people_are_reminded(self, client):
        client.force_login(make_user(email_verified=False))
        assert "Confirm your email" in client.get("/").text

    def test_health(self, client):
        assert client.get("/healthz").text == "ok"

    def test_static_files_are_served_by_the_app(self, client):
        response = client.get("/static/css/same.css")
        assert response.status_code == 200
        assert b"--accent" in b"".join(response.streaming_content)
