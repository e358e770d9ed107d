"""Stickers: a square of your own photo, a caption drawn on it, maybe your voice; a collection you order."""

import io
import json
import wave
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from chat import attachments
from chat import services as chat_services
from core.errors import ServiceError
from media.errors import MediaError
from posts.services import post_create_text
from stickers import rendering, selectors, services
from stickers.models import Sticker, StickerSave, StickerStatus
from tests.factories import PASSWORD, make_channel, make_user
from tests.samples import GPS_MARK, photo_with_gps, voice_webm


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored(settings) -> list[Path]:
    return sorted(p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())


def quadrants(size: int = 400) -> SimpleUploadedFile:
    """A photo in four colours: red top left, green top right, blue bottom left, yellow bottom right."""
    picture = Image.new("RGB", (size * 2, size * 2))
    for (x, y), colour in {(0, 0): "red", (1, 0): "green", (0, 1): "blue", (1, 1): "yellow"}.items():
        picture.paste(colour, (x * size, y * size, (x + 1) * size, (y + 1) * size))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return SimpleUploadedFile("q.png", buffer.getvalue(), content_type="image/png")


def picture_of(sticker: Sticker, settings, *, base: bool = False) -> Image.Image:
    return Image.open(Path(settings.MEDIA_ROOT) / (sticker.base if base else sticker.image)).convert("RGB")


def near(colour: Any, expected: Any) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(colour, expected, strict=False))


@pytest.mark.django_db
class TestMaking:
    def test_the_square_asked_for_is_cut_and_made_512(self, settings):
        owner = make_user()
        sticker = services.sticker_create(owner=owner, image=quadrants(), crop=rendering.Crop(400, 400, 400))
        picture = picture_of(sticker, settings)
        assert picture.size == (512, 512)
        assert near(picture.getpixel((256, 100)), (255, 255, 0))  # all yellow: the bottom-right quadrant
        assert near(picture.getpixel((10, 10)), (255, 255, 0))
        centre = services.sticker_create(owner=owner, image=quadrants())  # no box: the centre square
        picture = picture_of(centre, settings)
        assert near(picture.getpixel((100, 100)), (255, 0, 0))
        assert near(picture.getpixel((400, 400)), (255, 255, 0))

    def test_a_box_outside_the_photo_is_refused_and_nothing_is_stored(self, settings):
        owner = make_user()
        for crop in [rendering.Crop(500, 500, 400), rendering.Crop(-1, 0, 100), rendering.Crop(0, 0, 10)]:
            with pytest.raises(ServiceError) as caught:
                services.sticker_create(owner=owner, image=quadrants(), crop=crop)
            assert list(caught.value.fields) == ["crop"]
        assert not Sticker.objects.exists()
        assert stored(settings) == []

    def test_the_caption_is_drawn_at_the_bottom_in_english_and_chinese(self, settings):
        owner = make_user()
        plain = picture_of(services.sticker_create(owner=owner, image=quadrants()), settings)
        for caption in ["good morning everyone", "又失眠了，好想你"]:
            sticker = services.sticker_create(owner=owner, image=quadrants(), caption=caption)
            drawn = picture_of(sticker, settings)
            bottom = [(x, y) for x in range(0, 512, 4) for y in range(380, 500, 4)]
            top = [(x, y) for x in range(0, 512, 4) for y in range(0, 300, 4)]
            changed_bottom = sum(1 for p in bottom if not near(drawn.getpixel(p), plain.getpixel(p)))
            changed_top = sum(1 for p in top if not near(drawn.getpixel(p), plain.getpixel(p)))
            assert changed_bottom > 150, caption  # letters (white, outlined) where the caption goes
            assert changed_top == 0, caption
            assert sticker.caption == caption

    def test_files_are_webp_without_metadata_and_the_voice_is_aac(self, settings):
        sticker = services.sticker_create(
            owner=make_user(),
            image=photo_with_gps(size=(300, 300)),
            caption="hi",
            audio=SimpleUploadedFile("v.webm", voice_webm(2.0), content_type="audio/webm"),
        )
        for path in stored(settings):
            assert GPS_MARK not in path.read_bytes()
        with Image.open(Path(settings.MEDIA_ROOT) / sticker.image) as image:
            assert (image.format, image.size, image.info.get("exif")) == ("WEBP", (512, 512), None)
        assert sticker.audio.endswith(".m4a")
        assert sticker.audio_seconds == pytest.approx(2.0, abs=0.1)
        assert sticker.status == StickerStatus.READY  # a typed caption: nothing to listen for

    @pytest.mark.parametrize(
        ("field", "upload", "code"),
        [
            ("image", SimpleUploadedFile("x.png", b"not a picture"), "unsupported_format"),
            ("image", SimpleUploadedFile("x.png", b""), "empty_file"),
            ("audio", SimpleUploadedFile("v.webm", b""), "empty_file"),
            ("audio", SimpleUploadedFile("v.webm", voice_webm(120.0)), "too_long"),
            ("audio", SimpleUploadedFile("v.png", photo_with_gps().read()), "unsupported_format"),
        ],
    )
    def test_bad_files_get_a_clear_error_and_leave_nothing(self, settings, field, upload, code):
        files = {"image": quadrants(), "audio": None, field: upload}
        with pytest.raises(ServiceError) as caught:
            services.sticker_create(owner=make_user(), image=files["image"], audio=files["audio"])
        assert (caught.value.code, list(caught.value.fields)) == (code, [field])
        assert not Sticker.objects.exists()
        assert stored(settings) == []

    def test_an_image_bomb_is_refused_before_decoding(self, settings):
        buffer = io.BytesIO()
        Image.new("1", (20_000, 20_000)).save(buffer, "PNG")  # 400 megapixels in a few kB
        with pytest.raises(ServiceError) as caught:
            services.sticker_create(owner=make_user(), image=SimpleUploadedFile("b.png", buffer.getvalue()))
        assert caught.value.code == "too_many_pixels"

    def test_a_long_caption_is_refused(self):
        with pytest.raises(ServiceError) as caught:
            services.sticker_create(owner=make_user(), image=quadrants(), caption="x" * 500)
        assert caught.value.fields == {"caption": ["A caption has at most 80 characters."]}

    def test_changing_the_caption_redraws_on_the_clean_picture(self, settings, django_capture_on_commit_callbacks):
        owner = make_user()
        sticker = services.sticker_create(owner=owner, image=quadrants(), caption="first words here")
        old_image = sticker.image
        with django_capture_on_commit_callbacks(execute=True):
            changed = services.sticker_caption_update(user=owner, sticker=sticker, caption="")
        assert changed.image != old_image
        assert not (Path(settings.MEDIA_ROOT) / old_image).exists()
        drawn, clean = picture_of(changed, settings), picture_of(changed, settings, base=True)
        band = [(x, y) for x in range(0, 512, 4) for y in range(380, 500, 4) if abs(x - 256) > 12]
        assert len([p for p in band if not near(drawn.getpixel(p), clean.getpixel(p))]) == 0  # no old caption left
        with pytest.raises(ServiceError) as caught:
            services.sticker_caption_update(user=make_user(), sticker=sticker, caption="mine now")
        assert caught.value.code == "not_owner"


@pytest.mark.django_db
class TestCollection:
    def test_newest_first_then_in_the_order_chosen(self):
        owner = make_user()
        a, _b, _c = (services.sticker_create(owner=owner, image=quadrants(), caption=n) for n in "abc")
        assert [s.caption for s in selectors.collection(user=owner)] == ["c", "b", "a"]
        services.sticker_reorder(user=owner, order=[a.public_id])
        assert [s.caption for s in selectors.collection(user=owner)] == ["a", "c", "b"]
        with pytest.raises(ServiceError) as caught:
            services.sticker_reorder(user=owner, order=["someone-elses"])
        assert list(caught.value.fields) == ["order"]

    def test_a_sticker_sent_in_a_chat_can_be_saved_and_outlives_its_makers_delete(
        self, settings, django_capture_on_commit_callbacks
    ):
        author, knocker = make_user(username="author"), make_user(username="knocker")
        post = post_create_text(author=author, channel=make_channel(host=author), text="hi")
        conversation, _sent = chat_services.conversation_knock(sender=knocker, post=post, text="hi", client_id="k")
        sticker = services.sticker_create(owner=knocker, image=quadrants(), caption="same!")
        sent = attachments.message_send_sticker(
            sender=knocker, conversation=conversation, sticker_id=sticker.public_id, client_id="s1"
        )
        assert (sent.message.kind, sent.message.sticker_id) == ("sticker", sticker.pk)
        stranger = make_user()
        with pytest.raises(ServiceError):
            attachments.sticker_save_from_chat(user=stranger, sticker_id=sticker.public_id)
        with pytest.raises(ServiceError):  # you can only send stickers you hold
            attachments.message_send_sticker(
                sender=author, conversation=conversation, sticker_id=sticker.public_id, client_id="a1"
            )
        attachments.sticker_save_from_chat(user=author, sticker_id=sticker.public_id)
        assert StickerSave.objects.filter(user=author, sticker=sticker).exists()
        with django_capture_on_commit_callbacks(execute=True):
            services.sticker_remove(user=knocker, sticker=sticker)
        assert Sticker.objects.filter(pk=sticker.pk).exists()  # the author holds it, the chat shows it
        assert (Path(settings.MEDIA_ROOT) / sticker.image).exists()
        services.sticker_remove(user=author, sticker=sticker)
        assert Sticker.objects.filter(pk=sticker.pk).exists()  # still shown in the chat

    def test_an_unshared_sticker_goes_for_good(self, settings, django_capture_on_commit_callbacks):
        owner = make_user()
        sticker = services.sticker_create(
            owner=owner,
            image=quadrants(),
            audio=SimpleUploadedFile("v.webm", voice_webm(1.0), content_type="audio/webm"),
            caption="bye",
        )
        assert len(stored(settings)) == 3
        with django_capture_on_commit_callbacks(execute=True):
            services.sticker_remove(user=owner, sticker=sticker)
        assert not Sticker.objects.exists()
        assert stored(settings) == []


def token(client, username):
    issued = client.post(
        "/api/v1/auth/token", json.dumps({"login": username, "password": PASSWORD}), content_type="application/json"
    )
    return {"Authorization": "Bearer " + issued.json()["token"]}


@pytest.mark.django_db
class TestApi:
    def test_make_list_caption_order_delete(self, client):
        make_user(username="maker")
        headers = token(client, "maker")
        made = client.post(
            "/api/v1/stickers",
            {"image": quadrants(), "caption": "same here", "crop_x": 0, "crop_y": 0, "crop_size": 400},
            headers=headers,
        )
        assert made.status_code == 202, made.content
        body = made.json()
        assert (body["status"], body["caption"], body["mine"], body["audio_url"]) == ("ready", "same here", True, None)
        assert body["image_url"].endswith(".webp")
        half = client.post("/api/v1/stickers", {"image": quadrants(), "crop_x": 0}, headers=headers)
        assert (half.status_code, list(half.json()["fields"])) == (400, ["crop"])
        other = client.post("/api/v1/stickers", {"image": quadrants()}, headers=headers).json()
        listed = [s["id"] for s in client.get("/api/v1/stickers", headers=headers).json()["items"]]
        assert listed == [other["id"], body["id"]]
        ordered = client.put(
            "/api/v1/stickers/order",
            json.dumps({"order": [body["id"]]}),
            content_type="application/json",
            headers=headers,
        )
        assert ordered.json()["order"] == [body["id"], other["id"]]
        patched = client.patch(
            f"/api/v1/stickers/{body['id']}",
            json.dumps({"caption": "not same"}),
            content_type="application/json",
            headers=headers,
        )
        assert patched.json()["caption"] == "not same"
        assert client.delete(f"/api/v1/stickers/{other['id']}", headers=headers).status_code == 204
        assert client.get(f"/api/v1/stickers/{other['id']}", headers=headers).status_code == 404
        assert (
            client.get(f"/api/v1/stickers/{body['id']}", headers=token(client, make_user().username)).status_code == 404
        )


CLIPS = Path(__file__).resolve().parent / "media" / "speech_phrases"


def clip(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (CLIPS / name).read_bytes(), content_type="audio/ogg")


@pytest.mark.django_db
class TestListening:
    def test_a_voice_without_a_caption_is_heard_and_becomes_the_caption(
        self, immediate_tasks, django_capture_on_commit_callbacks, settings
    ):
        owner = make_user()
        with django_capture_on_commit_callbacks(execute=True):
            made = services.sticker_create(
                owner=owner, image=quadrants(), audio=clip("good-morning-everyone.en-us.140.opus")
            )
        assert made.status == StickerStatus.PROCESSING  # what the request answered
        sticker = Sticker.objects.get(pk=made.pk)
        assert sticker.status == StickerStatus.READY
        assert "morning" in sticker.transcript
        assert sticker.caption == sticker.transcript
        assert sticker.image != made.image  # drawn again, with the words on it

    def test_a_typed_caption_wins_and_nothing_is_listened_to(
        self, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch
    ):
        def never(data: bytes) -> None:
            raise AssertionError("transcribed a sticker that has a caption")

        monkeypatch.setattr("media.speech.transcribe_recording", never)
        with django_capture_on_commit_callbacks(execute=True):
            sticker = services.sticker_create(
                owner=make_user(),
                image=quadrants(),
                caption="my words",
                audio=clip("good-morning-everyone.en-us.140.opus"),
            )
        assert (Sticker.objects.get(pk=sticker.pk).caption, sticker.status) == ("my words", "ready")

    def test_silence_leaves_it_usable_without_a_caption(self, immediate_tasks, django_capture_on_commit_callbacks):
        silent = io.BytesIO()
        with wave.open(silent, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(16000)
            out.writeframes(b"\0\0" * 16000 * 3)
        with django_capture_on_commit_callbacks(execute=True):
            made = services.sticker_create(
                owner=make_user(), image=quadrants(), audio=SimpleUploadedFile("s.wav", silent.getvalue())
            )
        sticker = Sticker.objects.get(pk=made.pk)
        assert (sticker.status, sticker.caption, sticker.transcript) == ("ready", "", "")

    def test_a_failed_transcription_says_so_and_the_sticker_still_works(
        self, immediate_tasks, django_capture_on_commit_callbacks, monkeypatch, settings
    ):
        def broken(data: bytes) -> None:
            raise MediaError("transcription_failed", "The recogniser stopped.")

        monkeypatch.setattr("media.speech.transcribe_recording", broken)
        with django_capture_on_commit_callbacks(execute=True):
            made = services.sticker_create(
                owner=make_user(), image=quadrants(), audio=clip("good-morning-everyone.en-us.140.opus")
            )
        sticker = Sticker.objects.get(pk=made.pk)
        assert (sticker.status, sticker.caption) == ("failed", "")
        assert (Path(settings.MEDIA_ROOT) / sticker.image).exists()
        assert sticker.audio

    def test_a_caption_typed_while_listening_is_kept(self, django_capture_on_commit_callbacks):
        owner = make_user()
        with django_capture_on_commit_callbacks(execute=False):  # the task hasn't run yet
            made = services.sticker_create(
                owner=owner, image=quadrants(), audio=clip("good-morning-everyone.en-us.140.opus")
            )
        services.sticker_caption_update(user=owner, sticker=made, caption="typed first")
        services.sticker_apply_transcript(sticker_id=made.public_id, transcript="good morning everyone")
        sticker = Sticker.objects.get(pk=made.pk)
        assert (sticker.caption, sticker.status) == ("typed first", "ready")


@pytest.mark.django_db
class TestCollectionPages:
    def test_the_api_and_the_page_walk_a_long_collection_in_order(self, client, monkeypatch):
        monkeypatch.setattr(selectors, "PAGE_SIZE", 2)
        owner = make_user(username="keeper")
        for caption in "abcde":
            services.sticker_create(owner=owner, image=quadrants(), caption=caption)
        headers = token(client, "keeper")
        seen, cursor, pages = [], None, 0
        while True:
            answer = client.get("/api/v1/stickers", {"cursor": cursor} if cursor else {}, headers=headers).json()
            seen += [item["caption"] for item in answer["items"]]
            pages += 1
            cursor = answer["next"]
            if cursor is None:
                break
        assert (seen, pages) == (list("edcba"), 3)
        refused = client.get("/api/v1/stickers", {"cursor": "not-a-cursor"}, headers=headers)
        assert (refused.status_code, refused.json()["code"]) == (400, "invalid_cursor")

        client.force_login(owner)
        first = client.get("/stickers")
        assert [s.caption for s in first.context["stickers"]] == ["e", "d"]
        assert first.context["next_cursor"]
        assert b"More stickers" in first.content
        last = client.get(
            "/stickers",
            {"cursor": client.get("/stickers", {"cursor": first.context["next_cursor"]}).context["next_cursor"]},
        )
        assert [s.caption for s in last.context["stickers"]] == ["a"]
        assert last.context["next_cursor"] is None
        assert b"More stickers" not in last.content
        assert client.get("/stickers", {"cursor": "spoiled"}).status_code == 302
