"""A voice message's transcript: heard by the task worker after it was sent, stored on the message, announced to
both people, carried by the API; "no words" and failures said as such; no transcript in a language the
recogniser doesn't know."""

import io
import json
import wave
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import User
from accounts.services import user_delete
from chat import attachments, events, services
from chat.models import Conversation, Message, TranscriptStatus
from chat.tasks import transcribe_voice_message
from chat.transcripts import message_apply_transcript
from media.errors import MediaError
from posts.services import post_create_text
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.django_db

SPOKEN = Path(__file__).resolve().parent / "media" / "speech_phrases" / "good-morning-everyone.en-us.140.opus"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def sent_events(monkeypatch) -> list[tuple[list[str], dict[str, Any]]]:
    """Every event that goes out to people's sockets: (their public ids, the event)."""
    out: list[tuple[list[str], dict[str, Any]]] = []
    monkeypatch.setattr(events, "_send", lambda people, event: out.append((sorted(people), event)))
    return out


def talking(*, knocker_language: str = "en"):
    author = make_user(username="author")
    knocker = make_user(username="knocker", language=knocker_language)
    post = post_create_text(author=author, channel=make_channel(name="Mornings", host=author), text="up early")
    conversation, _sent = services.conversation_knock(sender=knocker, post=post, text="me too", client_id="k1")
    services.conversation_accept(user=author, conversation=conversation)
    return author, knocker, conversation


def spoken() -> SimpleUploadedFile:
    return SimpleUploadedFile(SPOKEN.name, SPOKEN.read_bytes(), content_type="audio/ogg")


def silence(seconds: float = 2.0) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * int(16000 * seconds))
    return SimpleUploadedFile("quiet.wav", buffer.getvalue(), content_type="audio/wav")


class TestHearing:
    def test_the_words_of_a_spoken_message_arrive_after_it_for_both_people(
        self, immediate_tasks, django_capture_on_commit_callbacks, sent_events
    ):
        """Ensure that a voice message is announced at once as being transcribed, and that the worker's
        transcript (of a real spoken sample) is stored and announced to both people in the conversation."""
        author, knocker, conversation = talking()
        with django_capture_on_commit_callbacks(execute=True):
            sent = attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=spoken(), client_id="v1"
            )
        assert sent.message.transcript_status == TranscriptStatus.PENDING  # what the request answered
        new = [event for _people, event in sent_events if event["type"] == "message.new"]
        assert [event["message"]["transcript"] for event in new] == [{"status": "pending", "text": ""}]

        message = Message.objects.get(pk=sent.message.pk)
        assert message.transcript_status == TranscriptStatus.READY
        assert "morning" in message.transcript
        [(people, updated)] = [(p, e) for p, e in sent_events if e["type"] == "message.updated"]
        assert people == sorted([author.public_id, knocker.public_id])
        assert (updated["conversation_id"], updated["seq"]) == (conversation.public_id, message.seq)
        assert updated["message"]["id"] == message.public_id
        assert updated["message"]["transcript"] == {"status": "ready", "text": message.transcript}
        assert updated["message"]["audio_url"].endswith("/audio")

    def test_silence_is_no_words_not_a_failure(self, immediate_tasks, django_capture_on_commit_callbacks):
        _author, knocker, conversation = talking()
        with django_capture_on_commit_callbacks(execute=True):
            sent = attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=silence(), client_id="v1"
            )
        message = Message.objects.get(pk=sent.message.pk)
        assert (message.transcript_status, message.transcript) == (TranscriptStatus.READY, "")

    def test_a_failure_says_so_and_the_message_still_plays(
        self, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch, sent_events
    ):
        def broken(data: bytes, *, max_seconds: float) -> None:
            raise MediaError("transcription_failed", "The recogniser stopped.")

        monkeypatch.setattr("media.speech.transcribe_recording", broken)
        _author, knocker, conversation = talking()
        with django_capture_on_commit_callbacks(execute=True):
            sent = attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=spoken(), client_id="v1"
            )
        message = Message.objects.get(pk=sent.message.pk)
        assert (message.transcript_status, message.transcript) == (TranscriptStatus.FAILED, "")
        assert message.audio
        [updated] = [e for _p, e in sent_events if e["type"] == "message.updated"]
        assert updated["message"]["transcript"] == {"status": "failed", "text": ""}

    def test_a_language_the_recogniser_does_not_know_is_not_heard_at_all(
        self, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch, settings
    ):
        """Ensure that English words are never made up from Chinese speech: with the default English model, a
        voice message of someone whose language is Chinese says there is no transcript, and nothing is queued."""

        def never(data: bytes, *, max_seconds: float) -> None:
            raise AssertionError("transcribed a language the recogniser doesn't know")

        monkeypatch.setattr("media.speech.transcribe_recording", never)
        _author, knocker, conversation = talking(knocker_language="zh-hans")
        with django_capture_on_commit_callbacks(execute=True):
            sent = attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=spoken(), client_id="v1"
            )
        assert Message.objects.get(pk=sent.message.pk).transcript_status == TranscriptStatus.UNAVAILABLE
        settings.SPEECH_LANGUAGES = ["en", "zh"]  # an operator who configured an engine that knows Chinese
        monkeypatch.undo()
        with django_capture_on_commit_callbacks(execute=True):
            again = attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=spoken(), client_id="v2"
            )
        assert Message.objects.get(pk=again.message.pk).transcript_status == TranscriptStatus.READY

    def test_only_a_waiting_voice_message_takes_a_transcript(self, django_capture_on_commit_callbacks):
        author, knocker, conversation = talking()
        text = services.message_send(sender=author, conversation=conversation, text="hello", client_id="t1").message
        assert message_apply_transcript(message_id=text.public_id, transcript="made up") is None
        with django_capture_on_commit_callbacks(execute=False):  # the worker hasn't run yet
            voice = attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=spoken(), client_id="v1"
            ).message
        assert message_apply_transcript(message_id=voice.public_id, transcript="  good   morning ") is not None
        assert message_apply_transcript(message_id=voice.public_id, transcript="a second time") is None
        assert Message.objects.get(pk=voice.pk).transcript == "good morning"
        assert Message.objects.get(pk=text.pk).transcript == ""

    def test_a_message_deleted_while_being_heard_stays_deleted(self, django_capture_on_commit_callbacks):
        _author, knocker, conversation = talking()
        with django_capture_on_commit_callbacks(execute=False):
            voice = attachments.message_send_voice(
                sender=knocker, conversation=conversation, audio=spoken(), client_id="v1"
            ).message
        with django_capture_on_commit_callbacks(execute=True):
            user_delete(user=knocker, password=PASSWORD)
        transcribe_voice_message.call(message_id=voice.public_id)  # the worker comes to it afterwards
        deleted = Message.objects.get(pk=voice.pk)
        assert (deleted.kind, deleted.transcript, deleted.transcript_status) == ("deleted", "", "")

    def test_the_account_export_carries_the_transcript(self, client):
        _author, knocker, conversation = talking()
        voice = Message.objects.create(
            conversation=conversation,
            seq=99,
            sender=knocker,
            kind="voice",
            transcript="good morning",
            transcript_status="ready",
            client_id="v-export",
        )
        from accounts.selectors import account_export

        exported = json.loads(json.dumps(account_export(user=knocker), default=str))
        [entry] = [m for m in exported["messages"] if m["seq"] == voice.seq]
        assert entry["transcript"] == "good morning"


def voice_with(conversation: Conversation, sender: User, status: str, text: str = "") -> Message:
    """A voice message stored as the worker would leave it (no sound needed to show its words)."""
    conversation.refresh_from_db()
    seq = conversation.next_seq
    Conversation.objects.filter(pk=conversation.pk).update(next_seq=seq + 1)
    return Message.objects.create(
        conversation=conversation,
        seq=seq,
        sender=sender,
        kind="voice",
        audio="chat/x.m4a",
        audio_seconds=7.0,
        transcript=text,
        transcript_status=status,
        client_id=f"v{seq}",
    )


class TestShown:
    def test_the_api_carries_the_transcript_of_voice_messages_only(self, client):
        _author, knocker, conversation = talking()
        for status, text in [("pending", ""), ("ready", "good morning"), ("ready", ""), ("failed", "")]:
            voice_with(conversation, knocker, status, text)
        token = client.post(
            "/api/v1/auth/token", json.dumps({"login": "author", "password": PASSWORD}), content_type="application/json"
        ).json()["token"]
        answer = client.get(
            f"/api/v1/conversations/{conversation.public_id}/messages", headers={"Authorization": f"Bearer {token}"}
        ).json()
        assert [m["transcript"] for m in answer["items"]] == [
            None,
            {"status": "pending", "text": ""},
            {"status": "ready", "text": "good morning"},
            {"status": "ready", "text": ""},
            {"status": "failed", "text": ""},
        ]
        schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
        assert schema["TranscriptOut"]["properties"]["status"]["enum"] == ["pending", "ready", "failed", "unavailable"]
        assert "transcript" in schema["MessageOut"]["required"]

    def test_the_conversation_page_shows_each_state_next_to_the_player(self, client):
        author, knocker, conversation = talking()
        states = [
            ("pending", ""),
            ("ready", "good morning everyone"),
            ("ready", ""),
            ("failed", ""),
            ("unavailable", ""),
        ]
        conversation.refresh_from_db()
        first = conversation.next_seq
        for status, text in states:
            voice_with(conversation, knocker, status, text)
        client.force_login(author)
        page = client.get(f"/chats/{conversation.public_id}").content.decode()
        pending, words, nothing, failed, unavailable = (
            page[page.index(f'id="m-{seq}"') :].split("</li>", 1)[0] for seq in range(first, first + len(states))
        )
        assert all('<audio controls preload="none"' in b for b in (pending, words, nothing, failed, unavailable))
        assert '<p class="voice-transcript none">Transcribing…</p>' in pending
        assert '<p class="voice-transcript">good morning everyone</p>' in words
        assert '<p class="voice-transcript none">No words recognised</p>' in nothing
        assert "Couldn't transcribe this message" in failed
        assert "No transcript in this language" in unavailable
        # The words come after the player, inside the same bubble.
        assert words.index("<audio") < words.index("good morning everyone")
