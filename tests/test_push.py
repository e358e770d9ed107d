"""Web push: subscriptions per person and device, and notifications that reach a push service encrypted.

The push service here is a real HTTP server on 127.0.0.1. It receives what pywebpush really sends; the test
plays the browser: it made the key pair the subscription carries, so it decrypts the body (RFC 8291) and
checks the VAPID signature (RFC 8292) and the headers a push service reads.
"""

import base64
import json
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.utils import translation

from accounts.selectors import account_export
from chat import groups, services
from chat.models import Message
from core.errors import ServiceError
from posts.services import post_create_text
from push import vapid
from push.models import PushSubscription
from push.services import push_subscribe, push_unsubscribe
from push.tasks import send_message_notifications
from tests.factories import PASSWORD, make_channel, make_user


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakePushService:
    """A push service: answers 201 Created, or what `answers` says for a path (410 Gone, 404, 500)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)


@dataclass
class Browser:
    """The browser's side of a subscription: its own key pair and auth secret, as PushManager makes them."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    endpoint: str

    @classmethod
    def new(cls, push_service: FakePushService) -> "Browser":
        return cls(
            private_key=ec.generate_private_key(ec.SECP256R1()),
            auth=secrets.token_bytes(16),
            endpoint=f"{push_service.url}/push/{secrets.token_urlsafe(16)}",
        )

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    @property
    def keys(self) -> dict[str, str]:
        return {"p256dh": self.p256dh, "auth": b64url(self.auth)}

    def subscribe(self, user: Any) -> PushSubscription:
        return push_subscribe(user=user, endpoint=self.endpoint, p256dh=self.p256dh, auth=b64url(self.auth))

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")
        return json.loads(plain)


@pytest.fixture
def push_service(settings) -> Iterator[FakePushService]:
    service = FakePushService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            service.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(service.answers.get(self.path, 201))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.PUSH_ALLOW_HTTP = True
    settings.PUSH_SERVICE_HOSTS = ["127.0.0.1"]
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def server_keys(settings) -> Iterator[ec.EllipticCurvePrivateKey]:
    """The server's VAPID pair, given as production gives it (VAPID_PRIVATE_KEY, raw base64url)."""
    key = ec.generate_private_key(ec.SECP256R1())
    settings.VAPID_PRIVATE_KEY = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    settings.VAPID_PUBLIC_KEY = ""
    settings.VAPID_SUBJECT = "mailto:push@same.example"
    vapid.vapid_keys.cache_clear()
    yield key
    vapid.vapid_keys.cache_clear()


def check_vapid(authorization: str, server_key: ec.EllipticCurvePrivateKey, audience: str) -> dict[str, Any]:
    """RFC 8292: `vapid t=<JWT signed ES256>, k=<the server's public key>`; returns the JWT's claims."""
    scheme, _sep, params = authorization.partition(" ")
    assert scheme == "vapid"
    parts = dict(part.strip().split("=", 1) for part in params.split(","))
    public = server_key.public_key()
    assert unb64url(parts["k"]) == public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    header_b64, claims_b64, signature_b64 = parts["t"].split(".")
    assert json.loads(unb64url(header_b64)) == {"typ": "JWT", "alg": "ES256"}
    signature = unb64url(signature_b64)
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    public.verify(encode_dss_signature(r, s), f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    claims = json.loads(unb64url(claims_b64))
    assert claims["aud"] == audience
    assert claims["sub"] == "mailto:push@same.example"
    assert time.time() < claims["exp"] <= time.time() + 24 * 3600
    return claims


def knock(author: Any, knocker: Any, text: str = "I feel this too") -> tuple[Any, Message]:
    channel = make_channel(host=author)
    post = post_create_text(author=author, channel=channel, text="awake again")
    conversation, sent = services.conversation_knock(sender=knocker, post=post, text=text, client_id="k1")
    return conversation, sent.message


@pytest.mark.django_db
class TestSendingNotifications:
    def test_a_message_request_reaches_the_push_service_encrypted_signed_and_without_its_words(
        self, push_service, server_keys, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that a knock notifies the author's browser: the body decrypts with the browser's keys to a
        notification that says only "New message request", signed with the server's VAPID key, with a TTL."""
        author, knocker = make_user(username="author"), make_user(username="knocker")
        phone = Browser.new(push_service)
        subscription = phone.subscribe(author)
        with django_capture_on_commit_callbacks(execute=True):
            conversation, _message = knock(author, knocker, text="my secret words")

        assert len(push_service.received) == 1
        request = push_service.received[0]
        assert request.path == phone.endpoint.removeprefix(push_service.url)
        assert request.headers["content-encoding"] == "aes128gcm"
        assert request.headers["ttl"] == "86400"
        assert request.headers["urgency"] == "normal"
        assert request.headers["topic"] == f"c{conversation.public_id}"
        check_vapid(request.headers["authorization"], server_keys, audience=push_service.url)
        assert b"my secret words" not in request.body
        assert b"knocker" not in request.body
        payload = phone.decrypt(request.body)
        assert payload == {
            "title": "same",
            "body": "New message request",
            "url": f"/chats/{conversation.public_id}",
            "tag": f"conversation-{conversation.public_id}",
            "icon": "/static/icons/icon-192.png",
        }
        assert "knocker" not in json.dumps(payload)
        assert "secret" not in json.dumps(payload)
        subscription.refresh_from_db()
        assert subscription.last_success_at is not None

    def test_group_messages_name_the_group_in_the_members_language_and_skip_the_sender_and_muted(
        self, push_service, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch
    ):
        """Ensure that a group message notifies each member who did not mute the group, in their language, and
        never the sender; a member who muted it gets nothing."""
        # The catalogue for these new strings comes with the translations; here, show which language was active.
        monkeypatch.setattr("push.notifications._", lambda text: f"[{translation.get_language()}] {text}")
        owner = make_user(username="owner")
        ana, bo = make_user(username="ana", language="zh-hans"), make_user(username="bo")
        group = groups.group_create(owner=owner, title="Night owls")
        invite = groups.invite_create(user=owner, conversation=group)
        for person in (ana, bo):
            groups.group_join_by_invite(user=person, code=invite.code)
        groups.conversation_mute(user=bo, conversation=group, muted=True)
        phones = {person.username: Browser.new(push_service) for person in (owner, ana, bo)}
        for person in (owner, ana, bo):
            phones[person.username].subscribe(person)

        with django_capture_on_commit_callbacks(execute=True):
            services.message_send(sender=owner, conversation=group, text="who is up?", client_id="g1")

        assert [r.path for r in push_service.received] == [phones["ana"].endpoint.removeprefix(push_service.url)]
        payload = phones["ana"].decrypt(push_service.received[0].body)
        assert payload["body"] == "[zh-hans] New message in Night owls"

    def test_a_muted_conversation_sends_nothing(
        self, push_service, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that nothing is queued or sent for a member who muted the conversation."""
        author, knocker = make_user(username="author"), make_user(username="knocker")
        conversation, _message = knock(author, knocker)
        services.conversation_accept(user=author, conversation=conversation)
        groups.conversation_mute(user=author, conversation=conversation, muted=True)
        Browser.new(push_service).subscribe(author)
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.message_send(sender=knocker, conversation=conversation, text="still there?", client_id="k2")
        assert callbacks  # the message went out as usual
        assert push_service.received == []

    def test_an_ignored_request_sends_nothing_more(
        self, push_service, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that once the author ignored a request, the knocker's further messages notify nobody."""
        author, knocker = make_user(username="author"), make_user(username="knocker")
        conversation, _message = knock(author, knocker)
        services.conversation_ignore(user=author, conversation=conversation)
        Browser.new(push_service).subscribe(author)
        with django_capture_on_commit_callbacks(execute=True):
            services.message_send(sender=knocker, conversation=conversation, text="hello?", client_id="k2")
        assert Message.objects.filter(conversation=conversation).count() == 2
        assert push_service.received == []

    def test_an_unsubscribed_browser_hears_nothing(
        self, push_service, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that turning notifications off stops them, and that another person can't turn mine off."""
        author, knocker, other = make_user(username="author"), make_user(username="knocker"), make_user()
        phone = Browser.new(push_service)
        phone.subscribe(author)
        assert push_unsubscribe(user=other, endpoint=phone.endpoint) is False
        assert PushSubscription.objects.filter(user=author).count() == 1
        assert push_unsubscribe(user=author, endpoint=phone.endpoint) is True
        with django_capture_on_commit_callbacks(execute=True):
            knock(author, knocker)
        assert push_service.received == []

    def test_a_gone_subscription_is_deleted_and_the_others_still_hear(
        self, push_service, immediate_tasks, django_capture_on_commit_callbacks
    ):
        """Ensure that a 410 (or 404) from the push service deletes that subscription, a 500 keeps it, and the
        person's other devices are notified anyway."""
        author, knocker = make_user(username="author"), make_user(username="knocker")
        gone, lost, broken, fine = (Browser.new(push_service) for _ in range(4))
        for phone in (gone, lost, broken, fine):
            phone.subscribe(author)
        push_service.answers[gone.endpoint.removeprefix(push_service.url)] = 410
        push_service.answers[lost.endpoint.removeprefix(push_service.url)] = 404
        push_service.answers[broken.endpoint.removeprefix(push_service.url)] = 500
        with django_capture_on_commit_callbacks(execute=True):
            knock(author, knocker)
        assert len(push_service.received) == 4
        left = set(PushSubscription.objects.filter(user=author).values_list("endpoint", flat=True))
        assert left == {broken.endpoint, fine.endpoint}
        assert PushSubscription.objects.get(endpoint=fine.endpoint).last_success_at is not None
        assert PushSubscription.objects.get(endpoint=broken.endpoint).last_success_at is None

    def test_nobody_subscribed_queues_no_task(self, push_service, django_capture_on_commit_callbacks):
        """Ensure that a message in a conversation where nobody turned notifications on costs no task."""
        from django_tasks_db.models import DBTaskResult

        author, knocker = make_user(username="author"), make_user(username="knocker")
        Browser.new(push_service).subscribe(knocker)  # the sender's own device doesn't count
        with django_capture_on_commit_callbacks(execute=True):
            knock(author, knocker)
        assert not DBTaskResult.objects.filter(task_path__endswith="send_message_notifications").exists()
        Browser.new(push_service).subscribe(author)
        with django_capture_on_commit_callbacks(execute=True):
            services.message_send(
                sender=knocker, conversation=Message.objects.get().conversation, text="hi", client_id="k2"
            )
        assert DBTaskResult.objects.filter(task_path__endswith="send_message_notifications").count() == 1

    def test_a_deleted_message_or_account_sends_nothing(self, push_service):
        author, knocker = make_user(username="author"), make_user(username="knocker")
        _conversation, message = knock(author, knocker)
        Browser.new(push_service).subscribe(author)
        Message.objects.filter(pk=message.pk).update(kind="deleted", text="")
        send_message_notifications.call(message_id=message.public_id)
        send_message_notifications.call(message_id="no-such-message")
        assert push_service.received == []


@pytest.mark.django_db
class TestSubscribing:
    def test_one_browser_belongs_to_whoever_subscribed_it_last(self, push_service):
        """Ensure that the same endpoint subscribed by another person moves to them (a shared or handed-on
        device notifies only its current owner), and subscribing again renews the keys."""
        ana, bo = make_user(username="ana"), make_user(username="bo")
        phone = Browser.new(push_service)
        first = phone.subscribe(ana)
        renewed = Browser(private_key=ec.generate_private_key(ec.SECP256R1()), auth=phone.auth, endpoint=phone.endpoint)
        again = renewed.subscribe(ana)
        assert again.pk == first.pk
        assert again.p256dh == renewed.p256dh
        moved = phone.subscribe(bo)
        assert moved.pk == first.pk
        assert list(PushSubscription.objects.values_list("user__username", flat=True)) == ["bo"]

    def test_a_person_keeps_their_newest_devices(self, push_service, settings):
        """Ensure that subscriptions per person are capped: the oldest makes way, nobody else's is touched."""
        from push.services import DEVICES_MAX

        ana, bo = make_user(username="ana"), make_user(username="bo")
        Browser.new(push_service).subscribe(bo)
        phones = [Browser.new(push_service) for _ in range(DEVICES_MAX + 1)]
        for phone in phones:
            phone.subscribe(ana)
        kept = set(PushSubscription.objects.filter(user=ana).values_list("endpoint", flat=True))
        assert kept == {phone.endpoint for phone in phones[1:]}
        assert PushSubscription.objects.filter(user=bo).count() == 1

    @pytest.mark.parametrize(
        ("endpoint", "code"),
        [
            ("", "invalid_endpoint"),
            ("not a url", "invalid_endpoint"),
            ("ftp://127.0.0.1/push/x", "invalid_endpoint"),
            ("http://user:pw@127.0.0.1/push/x", "invalid_endpoint"),
            ("http://127.0.0.1:notaport/x", "invalid_endpoint"),
            ("http://10.0.0.5/push/x", "unknown_push_service"),
            ("http://127.0.0.1.evil.example/push/x", "unknown_push_service"),
            ("http://169.254.169.254/latest/meta-data", "unknown_push_service"),
        ],
    )
    def test_endpoints_outside_the_push_services_are_refused(self, push_service, endpoint, code):
        """Ensure that the server never posts to an address a person makes up (another host, the network inside)."""
        phone = Browser.new(push_service)
        with pytest.raises(ServiceError) as refused:
            push_subscribe(user=make_user(), endpoint=endpoint, p256dh=phone.p256dh, auth=b64url(phone.auth))
        assert (refused.value.code, refused.value.field) == (code, "endpoint")

    def test_production_accepts_only_https_to_known_push_services(self, settings):
        phone_keys = Browser(ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16), "")
        user = make_user()
        ok = push_subscribe(
            user=user,
            endpoint="https://fcm.googleapis.com/fcm/send/abc",
            p256dh=phone_keys.p256dh,
            auth=b64url(phone_keys.auth),
        )
        assert ok.user == user
        for endpoint in (
            "http://fcm.googleapis.com/fcm/send/abc",
            "https://127.0.0.1/push",
            "https://evilfcm.googleapis.com.example/x",
        ):
            with pytest.raises(ServiceError):
                push_subscribe(user=user, endpoint=endpoint, p256dh=phone_keys.p256dh, auth=b64url(phone_keys.auth))

    def test_keys_that_are_not_a_browsers_are_refused(self, push_service):
        phone = Browser.new(push_service)
        user = make_user()
        cases = [
            ("!!!", b64url(phone.auth), "keys.p256dh"),
            (b64url(b"\x04" + b"\x01" * 64), b64url(phone.auth), "keys.p256dh"),  # not a point on the curve
            (phone.p256dh, b64url(b"short"), "keys.auth"),
            (phone.p256dh, "@@", "keys.auth"),
        ]
        for p256dh, auth, field_name in cases:
            with pytest.raises(ServiceError) as refused:
                push_subscribe(user=user, endpoint=phone.endpoint, p256dh=p256dh, auth=auth)
            assert (refused.value.code, refused.value.field) == ("invalid_keys", field_name)
        assert not PushSubscription.objects.exists()

    def test_the_export_lists_the_devices_without_their_keys(self, push_service):
        user = make_user()
        Browser.new(push_service).subscribe(user)
        exported = json.dumps(account_export(user=user), default=str)
        section = account_export(user=user)["push_subscriptions"]
        assert section == [
            {"push_service": "127.0.0.1", "created_at": section[0]["created_at"], "last_success_at": None}
        ]
        assert "p256dh" not in exported
        assert "/push/" not in exported


@pytest.mark.django_db
class TestTheApi:
    def token_for(self, client, user) -> dict[str, str]:
        answer = client.post(
            "/api/v1/auth/token", {"login": user.username, "password": PASSWORD}, content_type="application/json"
        )
        return {"Authorization": f"Bearer {answer.json()['token']}"}

    def test_subscribe_and_unsubscribe(self, client, push_service, server_keys):
        user = make_user()
        auth = self.token_for(client, user)
        key = client.get("/api/v1/push/key", headers=auth)
        assert key.status_code == 200
        assert unb64url(key.json()["public_key"]) == server_keys.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        phone = Browser.new(push_service)
        body = {"endpoint": phone.endpoint, "expirationTime": None, "keys": phone.keys}
        created = client.post("/api/v1/push/subscriptions", body, content_type="application/json", headers=auth)
        assert created.status_code == 201
        assert set(created.json()) == {"id", "created_at", "last_success_at"}
        assert PushSubscription.objects.get().user == user
        gone = client.delete(
            "/api/v1/push/subscriptions", {"endpoint": phone.endpoint}, content_type="application/json", headers=auth
        )
        assert gone.status_code == 204
        assert not PushSubscription.objects.exists()

    def test_bad_subscriptions_get_a_clean_400_with_a_code(self, client, push_service):
        auth = self.token_for(client, make_user())
        phone = Browser.new(push_service)
        cases = [
            ({"endpoint": phone.endpoint}, "invalid", "keys"),
            ({"endpoint": phone.endpoint, "keys": {"p256dh": phone.p256dh}}, "invalid", "keys.auth"),
            ({"endpoint": 12, "keys": phone.keys}, "invalid", "endpoint"),
            ({"endpoint": "http://10.1.2.3/x", "keys": phone.keys}, "unknown_push_service", "endpoint"),
            ({"endpoint": "javascript:alert(1)", "keys": phone.keys}, "invalid_endpoint", "endpoint"),
            (
                {"endpoint": phone.endpoint, "keys": {"p256dh": "AAAA", "auth": phone.keys["auth"]}},
                "invalid_keys",
                "keys.p256dh",
            ),
        ]
        for body, code, field_name in cases:
            answer = client.post("/api/v1/push/subscriptions", body, content_type="application/json", headers=auth)
            assert answer.status_code == 400, body
            assert answer.json()["code"] == code, answer.json()
            assert field_name in answer.json()["fields"], answer.json()
        not_json = client.post("/api/v1/push/subscriptions", "{", content_type="application/json", headers=auth)
        assert not_json.status_code == 400
        assert "code" in not_json.json()
        assert not PushSubscription.objects.exists()

    def test_anonymous_callers_are_refused(self, client, push_service):
        phone = Browser.new(push_service)
        body = {"endpoint": phone.endpoint, "keys": phone.keys}
        answer = client.post("/api/v1/push/subscriptions", body, content_type="application/json")
        assert answer.status_code == 401
        assert answer.json()["code"] == "unauthorized"
        assert client.get("/api/v1/push/key").status_code == 401


class TestServerKeys:
    def test_generated_on_first_use_and_kept(self, settings, tmp_path):
        """Ensure that without VAPID_PRIVATE_KEY a pair is made once into the var directory (readable by the
        owner only) and the same pair is read back after a restart."""
        settings.VAPID_PRIVATE_KEY = ""
        settings.VAR_DIR = tmp_path
        vapid.vapid_keys.cache_clear()
        first = vapid.vapid_keys().public_key
        key_file = tmp_path / vapid.KEY_FILE
        assert key_file.exists()
        assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
        vapid.vapid_keys.cache_clear()  # a restart
        assert vapid.vapid_keys().public_key == first
        assert len(unb64url(first)) == 65
        assert unb64url(first)[0] == 4
        assert [p.name for p in tmp_path.iterdir()] == [vapid.KEY_FILE]

    def test_environment_keys_must_match(self, settings, server_keys):
        from django.core.exceptions import ImproperlyConfigured

        settings.VAPID_PUBLIC_KEY = b64url(
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        )
        vapid.vapid_keys.cache_clear()
        with pytest.raises(ImproperlyConfigured):
            vapid.vapid_keys()
        settings.VAPID_PRIVATE_KEY = "not-a-key"
        settings.VAPID_PUBLIC_KEY = ""
        vapid.vapid_keys.cache_clear()
        with pytest.raises(ImproperlyConfigured):
            vapid.vapid_keys()
