import json
import threading

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from accounts.services import token_issue
from chat import selectors, services
from chat.models import Conversation, Message
from core.errors import ServiceError
from posts.services import post_create_text
from same.asgi import application
from tests.factories import PASSWORD, make_channel, make_user

HOST = [(b"host", b"127.0.0.1"), (b"origin", b"http://127.0.0.1")]


def a_post(author):
    channel = make_channel(name=f"Insomnia of {author.username}", host=author)
    return post_create_text(author=author, channel=channel, text="awake again")


@pytest.mark.django_db
class TestRequests:
    def test_a_knock_is_a_request_with_its_first_message(self):
        author, knocker = make_user(username="author"), make_user(username="knocker")
        conversation, sent = services.conversation_knock(
            sender=knocker, post=a_post(author), text="me too", client_id="c1"
        )
        assert conversation.state == "request"
        assert (sent.message.seq, sent.message.text, sent.created) == (1, "me too", True)
        rows = selectors.conversation_rows(user=author)
        assert [(r.other, r.unread, r.is_request_to_me) for r in rows] == [("knocker", 1, True)]

    def test_three_messages_until_accepted_then_the_fourth_is_refused(self):
        author, knocker = make_user(), make_user()
        conversation, _sent = services.conversation_knock(sender=knocker, post=a_post(author), text="1", client_id="c1")
        services.message_send(sender=knocker, conversation=conversation, text="2", client_id="c2")
        services.message_send(sender=knocker, conversation=conversation, text="3", client_id="c3")
        with pytest.raises(ServiceError) as caught:
            services.message_send(sender=knocker, conversation=conversation, text="4", client_id="c4")
        assert (caught.value.code, caught.value.status) == ("awaiting_acceptance", 403)
        services.message_send(sender=knocker, conversation=conversation, text="3", client_id="c3")  # a resend is fine
        services.conversation_accept(user=author, conversation=conversation)
        services.message_send(sender=knocker, conversation=conversation, text="4", client_id="c4")
        assert list(Message.objects.order_by("seq").values_list("seq", "text")) == [
            (1, "1"),
            (2, "2"),
            (3, "3"),
            (4, "4"),
        ]

    def test_ignoring_hides_the_request_and_tells_the_knocker_nothing(self):
        author, knocker = make_user(), make_user()
        conversation, _sent = services.conversation_knock(
            sender=knocker, post=a_post(author), text="hi", client_id="c1"
        )
        services.conversation_ignore(user=author, conversation=conversation)
        assert selectors.conversation_rows(user=author) == []
        assert selectors.conversation_rows(user=knocker)[0].conversation.state == "request"
        with pytest.raises(ServiceError):
            services.conversation_accept(user=knocker, conversation=conversation)  # only the author answers

    def test_refusals(self):
        author, knocker = make_user(), make_user()
        post = a_post(author)
        with pytest.raises(ServiceError) as own:
            services.conversation_knock(sender=author, post=post, text="hi", client_id="c")
        assert own.value.code == "own_post"
        for text, client_id in [("", "c"), ("x" * 2001, "c"), ("hi", ""), ("hi", "x" * 65)]:
            with pytest.raises(ServiceError):
                services.conversation_knock(sender=knocker, post=post, text=text, client_id=client_id)
        assert not Conversation.objects.exists()

    def test_outsiders_get_404_not_403(self):
        author, knocker = make_user(), make_user()
        conversation, _sent = services.conversation_knock(sender=knocker, post=a_post(author), text="hi", client_id="c")
        with pytest.raises(ServiceError) as caught:
            services.conversation_for_participant(user=make_user(), conversation_id=conversation.public_id)
        assert caught.value.status == 404

    def test_a_resend_never_makes_a_second_message(self):
        author, knocker = make_user(), make_user()
        conversation, first = services.conversation_knock(
            sender=knocker, post=a_post(author), text="hi", client_id="same-id"
        )
        services.conversation_accept(user=author, conversation=conversation)
        again = services.message_send(sender=knocker, conversation=conversation, text="hi", client_id="same-id")
        assert again.created is False
        assert again.message.pk == first.message.pk
        assert Message.objects.count() == 1


@pytest.mark.django_db
class TestApi:
    def token(self, client, username):
        return {
            "Authorization": "Bearer "
            + client.post(
                "/api/v1/auth/token",
                json.dumps({"login": username, "password": PASSWORD}),
                content_type="application/json",
            ).json()["token"]
        }

    def test_knock_accept_talk(self, client):
        author, _knocker = make_user(username="author"), make_user(username="knocker")
        post = a_post(author)
        knocker_h, author_h = self.token(client, "knocker"), self.token(client, "author")
        made = client.post(
            "/api/v1/conversations",
            json.dumps({"post_id": post.public_id, "text": "me too", "client_id": "k1"}),
            content_type="application/json",
            headers=knocker_h,
        )
        assert made.status_code == 201
        conversation = made.json()
        assert conversation["state"] == "request"
        assert conversation["origin_post"]["id"] == post.public_id
        assert [m["username"] for m in conversation["members"]] == ["knocker", "author"]
        listed = client.get("/api/v1/conversations", headers=author_h).json()["items"]
        assert (listed[0]["id"], listed[0]["unread"]) == (conversation["id"], 1)
        url = f"/api/v1/conversations/{conversation['id']}"
        assert client.post(url + "/accept", headers=author_h).json()["state"] == "active"
        sent = client.post(
            url + "/messages",
            json.dumps({"text": "hello", "client_id": "a1"}),
            content_type="application/json",
            headers=author_h,
        )
        assert sent.status_code == 201
        resent = client.post(
            url + "/messages",
            json.dumps({"text": "hello", "client_id": "a1"}),
            content_type="application/json",
            headers=author_h,
        )
        assert resent.status_code == 200
        assert resent.json()["id"] == sent.json()["id"]
        history = client.get(url + "/messages", {"after": 0}, headers=knocker_h).json()["items"]
        assert [(m["seq"], m["sender"]["username"], m["text"]) for m in history] == [
            (1, "knocker", "me too"),
            (2, "author", "hello"),
        ]
        assert "email" not in json.dumps(history)
        assert client.post(
            url + "/read", json.dumps({"seq": 2}), content_type="application/json", headers=knocker_h
        ).json() == {"seq": 2}
        future = client.post(url + "/read", json.dumps({"seq": 99}), content_type="application/json", headers=knocker_h)
        assert future.status_code == 400
        outsider = make_user(username="outsider")
        assert client.get(url + "/messages", headers=self.token(client, outsider.username)).status_code == 404


async def _connect_as(user):
    issued = await database_sync_to_async(token_issue)(login=user.username, password=PASSWORD, client_ip="x")
    ws = WebsocketCommunicator(application, "/ws/", headers=HOST)
    connected, _ = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "auth", "token": issued.secret})
    assert (await ws.receive_json_from())["type"] == "auth.ok"
    return ws


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_messages_arrive_live_and_resume_fills_the_gap_once_in_order():
    author = await database_sync_to_async(make_user)(username="author")
    knocker = await database_sync_to_async(make_user)(username="knocker")
    post = await database_sync_to_async(a_post)(author)
    listener = await _connect_as(author)
    conversation, _sent = await database_sync_to_async(services.conversation_knock)(
        sender=knocker, post=post, text="first", client_id="k1"
    )
    request = await listener.receive_json_from()
    live = await listener.receive_json_from()
    events = {request["type"], live["type"]}
    assert events == {"conversation.request", "message.new"}
    message_event = request if request["type"] == "message.new" else live
    assert message_event["message"]["text"] == "first"
    assert message_event["message"]["sender"] == {"username": "knocker"}
    await listener.disconnect()  # the network drops…

    await database_sync_to_async(services.conversation_accept)(user=author, conversation=conversation)
    for i in range(2, 5):
        await database_sync_to_async(services.message_send)(
            sender=knocker, conversation=conversation, text=f"message {i}", client_id=f"k{i}"
        )
    again = await _connect_as(author)  # …and comes back, holding seq 1
    await again.send_json_to({"type": "resume", "conversation_id": conversation.public_id, "after": 1})
    resumed = [await again.receive_json_from() for _ in range(3)]
    assert [e["seq"] for e in resumed] == [2, 3, 4]
    assert await again.receive_json_from() == {
        "type": "resume.done",
        "conversation_id": conversation.public_id,
        "after": 1,
        "last_seq": 4,
        "more": False,
    }
    assert await again.receive_nothing(timeout=0.2)
    await again.send_json_to({"type": "resume", "conversation_id": conversation.public_id, "after": 99})
    error = await again.receive_json_from()
    assert (error["type"], error["code"]) == ("error", "invalid_after")
    await again.send_json_to({"type": "resume", "conversation_id": "not-mine", "after": 0})
    assert (await again.receive_json_from())["code"] == "not_found"
    await again.send_json_to({"type": "ping"})  # the socket stayed up after the errors
    assert await again.receive_json_from() == {"type": "pong"}
    await again.disconnect()


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_get_distinct_gapless_numbers():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the PostgreSQL run exercises real concurrency")
    author, knocker = make_user(), make_user()
    conversation, _sent = services.conversation_knock(sender=knocker, post=a_post(author), text="0", client_id="k0")
    services.conversation_accept(user=author, conversation=conversation)
    barrier = threading.Barrier(20)

    def send(i):
        try:
            barrier.wait()
            sender = author if i % 2 else knocker
            services.message_send(sender=sender, conversation=conversation, text=str(i), client_id=f"c{i}")
            services.message_send(sender=sender, conversation=conversation, text=str(i), client_id=f"c{i}")  # resend
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seqs = sorted(Message.objects.filter(conversation=conversation).values_list("seq", flat=True))
    assert seqs == list(range(1, 22))


@pytest.mark.django_db(transaction=True)
def test_the_same_client_id_from_two_tabs_at_once_is_one_message_and_both_are_answered_with_it():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises writers; the PostgreSQL run exercises real concurrency")
    author, knocker = make_user(), make_user()
    conversation, _sent = services.conversation_knock(sender=knocker, post=a_post(author), text="0", client_id="k0")
    services.conversation_accept(user=author, conversation=conversation)
    barrier = threading.Barrier(8)
    answers: list[services.Sent] = []

    def send():
        try:
            barrier.wait()
            answers.append(
                services.message_send(sender=knocker, conversation=conversation, text="once", client_id="tab")
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = Message.objects.get(sender=knocker, client_id="tab")
    assert len(answers) == 8
    assert {sent.message.pk for sent in answers} == {stored.pk}
    assert sorted(sent.created for sent in answers) == [False] * 7 + [True]
    assert list(Message.objects.filter(conversation=conversation).order_by("seq").values_list("seq", flat=True)) == [
        1,
        2,
    ]
    conversation.refresh_from_db()
    assert conversation.next_seq == 3


@pytest.mark.django_db
class TestPages:
    def test_knock_from_the_post_then_accept_and_reply(self, client):
        from django.urls import reverse

        author, knocker = make_user(username="author"), make_user(username="knocker")
        post = a_post(author)
        client.force_login(knocker)
        empty = client.post(reverse("chat:talk", args=[post.public_id]), {"text": " ", "client_id": "x1"})
        assert empty.status_code == 400
        assert "Write something first." in empty.text
        response = client.post(reverse("chat:talk", args=[post.public_id]), {"text": "me too", "client_id": "x1"})
        conversation = Conversation.objects.get()
        assert response["Location"] == reverse("chat:conversation", args=[conversation.public_id])
        assert "Waiting for them to accept" in client.get(response["Location"]).text
        client.force_login(author)
        assert '<span class="badge-count"' in client.get(reverse("chat:badge")).text
        listing = client.get(reverse("chat:chats"))
        assert "Asking to talk" in listing.text
        assert "knocker" in listing.text
        page = client.get(reverse("chat:conversation", args=[conversation.public_id]))
        assert "would like to talk about your post" in page.text
        client.post(reverse("chat:answer", args=[conversation.public_id]), {"action": "accept"})
        client.post(reverse("chat:send", args=[conversation.public_id]), {"text": "hello", "client_id": "y1"})
        assert list(Message.objects.order_by("seq").values_list("text", flat=True)) == ["me too", "hello"]
        assert client.get(reverse("chat:badge")).text.strip() == ""  # opening the conversation read it

    def test_strangers_see_404(self, client):
        from django.urls import reverse

        author, knocker = make_user(), make_user()
        conversation, _sent = services.conversation_knock(sender=knocker, post=a_post(author), text="hi", client_id="c")
        client.force_login(make_user())
        assert client.get(reverse("chat:conversation", args=[conversation.public_id])).status_code == 404
        assert (
            client.post(
                reverse("chat:send", args=[conversation.public_id]), {"text": "x", "client_id": "z"}
            ).status_code
            == 404
        )


@pytest.mark.django_db
def test_deleting_an_account_removes_the_words_of_its_messages():
    from accounts.services import user_delete

    author, knocker = make_user(), make_user()
    _conversation, sent = services.conversation_knock(
        sender=knocker, post=a_post(author), text="a secret", client_id="c"
    )
    user_delete(user=knocker, password=PASSWORD)
    message = Message.objects.get(pk=sent.message.pk)
    assert (message.text, message.sender, message.kind) == ("", None, "deleted")
    assert not Message.objects.filter(text__contains="secret").exists()


@pytest.mark.django_db
class TestBlocks:
    def test_blocking_closes_the_conversation_and_stops_knocks_both_ways(self, client):
        from chat.blocks import block_create, block_remove
        from moderation.blocks import blocked_usernames

        author, knocker = make_user(username="author"), make_user(username="knocker")
        post = a_post(author)
        conversation, _sent = services.conversation_knock(sender=knocker, post=post, text="hi", client_id="c1")
        block_create(blocker=author, username="KNOCKER")
        conversation.refresh_from_db()
        assert conversation.state == "closed"
        with pytest.raises(ServiceError) as closed:
            services.message_send(sender=knocker, conversation=conversation, text="hello?", client_id="c2")
        assert closed.value.code == "conversation_closed"
        with pytest.raises(ServiceError) as knock:
            services.conversation_knock(sender=knocker, post=post, text="again", client_id="c3")
        assert knock.value.code == "blocked"
        other_post = a_post(knocker)
        with pytest.raises(ServiceError):
            services.conversation_knock(sender=author, post=other_post, text="hi", client_id="c4")  # both ways
        assert blocked_usernames(user=author) == ["knocker"]
        block_remove(blocker=author, username="knocker")
        services.conversation_knock(sender=knocker, post=post, text="sorry", client_id="c5")
        assert Conversation.objects.exclude(state="closed").count() == 1

    def test_refusals_and_api(self, client):
        from chat.blocks import block_create

        me = make_user(username="me")
        with pytest.raises(ServiceError):
            block_create(blocker=me, username="me")
        with pytest.raises(ServiceError) as missing:
            block_create(blocker=me, username="nobody")
        assert missing.value.status == 404
        make_user(username="pest")
        headers = TestApi().token(client, "me")
        made = client.post(
            "/api/v1/blocks", json.dumps({"username": "pest"}), content_type="application/json", headers=headers
        )
        assert made.status_code == 201
        assert client.get("/api/v1/blocks", headers=headers).json()["items"] == [{"username": "pest"}]
        assert client.delete("/api/v1/blocks/pest", headers=headers).status_code == 204
        assert client.get("/api/v1/blocks", headers=headers).json()["items"] == []
