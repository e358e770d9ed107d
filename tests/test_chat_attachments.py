"""Voice messages, photos and forwarded posts in a conversation: processed, stored, served to members only."""

import json
from pathlib import Path

import av
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.services import user_delete
from chat import attachments, services
from chat.models import Message
from core.errors import ServiceError
from moderation.services import post_remove
from posts.services import post_create_text
from tests.factories import PASSWORD, make_channel, make_user
from tests.samples import GPS_MARK, TAG_MARK, photo_with_gps, png, voice_webm


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def talking():
    """Two people in an accepted conversation."""
    author, knocker = make_user(username="author"), make_user(username="knocker")
    channel = make_channel(name="Night thoughts", host=author)
    post = post_create_text(author=author, channel=channel, text="awake again")
    conversation, _sent = services.conversation_knock(sender=knocker, post=post, text="me too", client_id="k1")
    services.conversation_accept(user=author, conversation=conversation)
    return author, knocker, conversation, channel


def voice(seconds: float = 1.0) -> SimpleUploadedFile:
    return SimpleUploadedFile("voice.webm", voice_webm(seconds), content_type="audio/webm")


def token_header(client, username):
    token = client.post(
        "/api/v1/auth/token", json.dumps({"login": username, "password": PASSWORD}), content_type="application/json"
    ).json()["token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.django_db
class TestVoice:
    def test_a_recording_becomes_tag_free_aac_only_members_can_fetch(self, client, media_root, settings):
        author, knocker, conversation, _channel = talking()
        sent = attachments.message_send_voice(sender=knocker, conversation=conversation, audio=voice(), client_id="v1")
        message = sent.message
        assert (message.kind, message.seq) == ("voice", 2)
        assert message.audio.endswith(".m4a")
        assert message.audio_seconds == pytest.approx(1.0, abs=0.1)
        data = (Path(settings.MEDIA_ROOT) / message.audio).read_bytes()
        assert TAG_MARK.encode() not in data
        with av.open(str(Path(settings.MEDIA_ROOT) / message.audio)) as container:
            assert container.streams.audio[0].codec_context.codec.canonical_name == "aac"

        url = f"/chats/{conversation.public_id}/m/{message.public_id}/audio"
        client.force_login(author)
        whole = client.get(url)
        assert (whole.status_code, whole["Content-Type"]) == (200, "audio/mp4")
        assert whole.content == data
        assert "private" in whole["Cache-Control"]
        part = client.get(url, headers={"Range": "bytes=0-99"})
        assert (part.status_code, part["Content-Range"], len(part.content)) == (206, f"bytes 0-99/{len(data)}", 100)
        assert client.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416

        outsider = make_user(username="outsider")
        client.force_login(outsider)
        assert client.get(url).status_code == 404
        client.logout()
        assert client.get(url).status_code == 404
        # An app fetches with its token.
        assert client.get(url, headers=token_header(client, "knocker")).status_code == 200

    def test_refusals_keep_nothing(self, media_root, settings):
        _author, knocker, conversation, _channel = talking()
        not_audio = png()
        with pytest.raises(ServiceError) as caught:
            attachments.message_send_voice(sender=knocker, conversation=conversation, audio=not_audio, client_id="v1")
        assert (caught.value.code, caught.value.fields) == ("unsupported_format", {"audio": [caught.value.message]})
        with pytest.raises(ServiceError) as long:
            attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=voice(seconds=300), client_id="v2"
            )
        assert long.value.code == "too_long"
        assert Message.objects.filter(kind="voice").count() == 0
        assert stored(settings) == []

    def test_a_resend_writes_no_second_file(self, media_root, settings):
        _author, knocker, conversation, _channel = talking()
        first = attachments.message_send_voice(sender=knocker, conversation=conversation, audio=voice(), client_id="v1")
        again = attachments.message_send_voice(sender=knocker, conversation=conversation, audio=voice(), client_id="v1")
        assert (again.created, again.message.pk) == (False, first.message.pk)
        assert len(stored(settings)) == 1

    def test_deleting_the_account_deletes_its_voice_messages(
        self, media_root, settings, django_capture_on_commit_callbacks
    ):
        _author, knocker, conversation, _channel = talking()
        attachments.message_send_voice(sender=knocker, conversation=conversation, audio=voice(), client_id="v1")
        assert len(stored(settings)) == 1
        with django_capture_on_commit_callbacks(execute=True):
            user_delete(user=knocker, password=PASSWORD)
        assert stored(settings) == []
        assert list(Message.objects.order_by("seq").values_list("kind", "audio")) == [("deleted", ""), ("deleted", "")]

    def test_at_the_limit_on_messages_a_recording_or_photo_is_refused_before_its_file(
        self, client, media_root, settings, monkeypatch
    ):
        """Ensure that at the limit on messages (counted from the person's messages: chat/limits.py) a voice message
        or a photo is refused with `rate_limited` before its file is processed, storing nothing, while a resend of
        one already stored is still answered with it."""
        settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (2, 60), "message_new_account": (2, 60)}
        _author, knocker, conversation, _channel = talking()  # the knock's words: one message of the two
        first = attachments.message_send_voice(sender=knocker, conversation=conversation, audio=voice(), client_id="v1")
        import media.audio

        processed: list[str] = []

        def noting(kind, real):
            def process(*args, **kwargs):
                processed.append(kind)
                return real(*args, **kwargs)

            return process

        monkeypatch.setattr(media.audio, "process_voice", noting("voice", media.audio.process_voice))
        monkeypatch.setattr(attachments, "process_image", noting("photo", attachments.process_image))
        headers = token_header(client, "knocker")
        url = f"/api/v1/conversations/{conversation.public_id}/messages"
        for upload in ({"audio": voice(), "client_id": "v2"}, {"image": png(), "client_id": "p1"}):
            refused = client.post(url, upload, headers=headers)
            assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited"), refused.content
            assert 0 < int(refused["Retry-After"]) <= 60
        assert processed == []
        assert len(stored(settings)) == 1  # the first recording's file only
        assert Message.objects.filter(sender=knocker).count() == 2
        again = attachments.message_send_voice(sender=knocker, conversation=conversation, audio=voice(), client_id="v1")
        assert (again.created, again.message.pk) == (False, first.message.pk)

    def test_a_refused_message_removes_its_stored_file(self, media_root, settings):
        author, knocker = make_user(), make_user()
        post = post_create_text(author=author, channel=make_channel(host=author), text="hi")
        conversation, _sent = services.conversation_knock(sender=knocker, post=post, text="1", client_id="c1")
        services.message_send(sender=knocker, conversation=conversation, text="2", client_id="c2")
        services.message_send(sender=knocker, conversation=conversation, text="3", client_id="c3")
        with pytest.raises(ServiceError) as caught:  # a fourth message before acceptance
            attachments.message_send_voice(sender=knocker, conversation=conversation, audio=voice(), client_id="v")
        assert caught.value.code == "awaiting_acceptance"
        assert stored(settings) == []


@pytest.mark.django_db
class TestPhotoAndForward:
    def test_photo_loses_its_gps_and_has_a_thumbnail(self, media_root, settings):
        _author, knocker, conversation, _channel = talking()
        sent = attachments.message_send_photo(
            sender=knocker, conversation=conversation, image=photo_with_gps(), client_id="p1", text="the view"
        )
        message = sent.message
        assert (message.kind, message.text, message.width, message.height) == ("photo", "the view", 60, 40)
        files = stored(settings)
        assert len(files) == 2
        assert all(GPS_MARK not in f.read_bytes() for f in files)

    def test_forwarding_a_post_shows_it_until_it_is_removed(self, client, media_root):
        author, _knocker, conversation, channel = talking()
        shared = post_create_text(author=author, channel=channel, text="the fridge hums at 3 a.m.")
        headers = token_header(client, "knocker")
        url = f"/api/v1/conversations/{conversation.public_id}/messages"
        made = client.post(
            url,
            json.dumps({"post_id": shared.public_id, "client_id": "f1", "text": "this!"}),
            content_type="application/json",
            headers=headers,
        )
        assert made.status_code == 201
        body = made.json()
        assert (body["kind"], body["text"]) == ("post", "this!")
        assert body["post"]["id"] == shared.public_id
        assert body["post"]["text"] == "the fridge hums at 3 a.m."
        assert body["post"]["channel_name"] == "Night thoughts"
        post_remove(by=author, post=shared, reason="off topic")
        history = client.get(url, headers=headers).json()["items"]
        assert history[-1]["post"] == {
            "id": None,
            "removed": True,
            "kind": None,
            "channel_id": None,
            "channel_name": None,
            "text": "",
        }
        missing = client.post(
            url,
            json.dumps({"post_id": "nope", "client_id": "f2"}),
            content_type="application/json",
            headers=headers,
        )
        assert (missing.status_code, missing.json()["code"], list(missing.json()["fields"])) == (
            404,
            "not_found",
            ["post_id"],
        )


@pytest.mark.django_db
class TestApiUploads:
    def test_voice_and_photo_by_multipart(self, client, media_root):
        _author, _knocker, conversation, _channel = talking()
        headers = token_header(client, "author")
        url = f"/api/v1/conversations/{conversation.public_id}/messages"
        sent = client.post(url, {"audio": voice(), "client_id": "v1"}, headers=headers)
        assert sent.status_code == 201, sent.content
        body = sent.json()
        assert body["kind"] == "voice"
        assert body["audio_url"] == f"/chats/{conversation.public_id}/m/{body['id']}/audio"
        assert client.get(body["audio_url"], headers=headers).status_code == 200
        photo = client.post(url, {"image": png(), "client_id": "p1"}, headers=headers)
        assert photo.status_code == 201
        assert photo.json()["image"]["thumb_url"].endswith("/thumb")

    def test_bad_uploads_get_a_code_and_a_field(self, client, media_root, settings):
        _author, _knocker, conversation, _channel = talking()
        headers = token_header(client, "author")
        url = f"/api/v1/conversations/{conversation.public_id}/messages"
        text_file = SimpleUploadedFile("notes.webm", b"just some words, not sound", content_type="audio/webm")
        refused = client.post(url, {"audio": text_file, "client_id": "v1"}, headers=headers)
        assert (refused.status_code, refused.json()["code"], list(refused.json()["fields"])) == (
            400,
            "unsupported_format",
            ["audio"],
        )
        long = client.post(url, {"audio": voice(seconds=300), "client_id": "v2"}, headers=headers)
        assert (long.status_code, long.json()["code"]) == (400, "too_long")
        sticker = client.post(
            url, json.dumps({"sticker_id": "x", "client_id": "s"}), content_type="application/json", headers=headers
        )
        assert (sticker.status_code, sticker.json()["code"]) == (404, "not_found")
        assert stored(settings) == []
        assert Message.objects.count() == 1  # the knock, nothing else
