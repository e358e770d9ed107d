"""A NUL character anywhere a request carries text: a clear refusal, never a 500 (PostgreSQL can't hold one),
and nothing written. Found by schemathesis on PostgreSQL: POST /blocks with a NUL in the username was a 500."""

import json

import pytest

from chat.models import Message
from moderation.models import Block
from tests.factories import PASSWORD
from tests.test_chat_attachments import talking, token_header

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client):
    _author, _knocker, conversation, channel = talking()
    return client, token_header(client, "author"), conversation, channel


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/channels/%00",
        "/api/v1/channels/x%00y/posts",
        "/api/v1/conversations/%00/messages",
        "/api/v1/posts/%00",
    ],
)
def test_an_api_address_with_a_nul_is_not_found(api, url):
    client, headers, _conversation, _channel = api
    answer = client.get(url, headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")


def test_an_api_query_with_a_nul_names_the_field(api):
    client, headers, _conversation, _channel = api
    answer = client.get("/api/v1/channels?q=night%00&sort=new", headers=headers)
    assert answer.status_code == 400
    assert answer.json() == {
        "code": "invalid",
        "message": "Some fields need another look.",
        "fields": {"q": ["Null characters are not allowed."]},
    }
    found = client.get("/api/v1/channels?q=night&sort=new", headers=headers)
    assert found.status_code == 200  # the same search without it answers


def test_a_json_body_with_a_nul_names_the_field_and_writes_nothing(api):
    client, headers, conversation, _channel = api
    refused = client.post(
        "/api/v1/blocks", json.dumps({"username": "knocker\u0000"}), content_type="application/json", headers=headers
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid"
    assert refused.json()["fields"] == {"username": ["Null characters are not allowed."]}
    assert not Block.objects.exists()
    sent = client.post(
        f"/api/v1/conversations/{conversation.public_id}/messages",
        json.dumps({"text": "hello\u0000there", "client_id": "n1"}),
        content_type="application/json",
        headers=headers,
    )
    assert (sent.status_code, sent.json()["fields"]) == (400, {"text": ["Null characters are not allowed."]})
    assert Message.objects.count() == 1  # the knock only
    blocked = client.post(
        "/api/v1/blocks", json.dumps({"username": "knocker"}), content_type="application/json", headers=headers
    )
    assert blocked.status_code == 201  # the same request without it is done
    assert Block.objects.count() == 1


def test_a_form_body_with_a_nul_names_the_field(api):
    client, headers, conversation, _channel = api
    sent = client.post(
        f"/api/v1/conversations/{conversation.public_id}/messages",
        {"text": "hello\u0000there", "client_id": "n2"},
        headers=headers,
    )
    assert (sent.status_code, sent.json()["fields"]) == (400, {"text": ["Null characters are not allowed."]})
    assert Message.objects.count() == 1


def test_the_refusal_is_said_in_the_persons_language(api):
    client, headers, _conversation, _channel = api
    answer = client.get("/api/v1/channels?q=%00", headers={**headers, "Accept-Language": "zh-Hans"})
    assert answer.json()["fields"] == {"q": ["不能包含空字符（U+0000）。"]}


def test_web_pages_answer_404_or_drop_the_nul_from_the_query(api):
    client, _headers, _conversation, channel = api
    client.login(username="author", password=PASSWORD)
    assert client.get("/c/%00").status_code == 404
    assert client.get(f"/c/{channel.public_id}%00").status_code == 404
    searched = client.get("/explore?q=Night%00%20thoughts")
    assert searched.status_code == 200
    assert searched.wsgi_request.GET["q"] == "Night thoughts"
    assert "Night thoughts" in searched.content.decode()  # the search ran without the NUL
