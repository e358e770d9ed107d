"""Hostile uploads through every upload path: refused with a code and leaving nothing behind, or stored cleaned.

The paths are every place a file comes in (`grep -rn "UploadedFile\\|FILES" --include=*.py`): post photos, channel
covers, song covers and songs, film posters, punch photos, chat photos and voice messages, group covers, sticker
pictures and voices, and the house ads' pictures (the admin). The files are made by tests/hostile_files.py.
"""

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from unittest import mock

import av
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from ads.services import ad_image_process
from chat import attachments, groups
from chat.models import Conversation, Message
from core.errors import ServiceError
from interests.models import Channel
from interests.services import channel_create, channel_join
from media import audio as media_audio
from media.errors import MediaError
from media.images import process_image
from posts.models import Post, PostImage
from posts.movies import post_create_movie
from posts.photos import post_create_photos
from posts.songs import post_create_song
from punches.models import Punch
from punches.services import punch_in
from stickers.models import Sticker
from stickers.services import sticker_create
from tests import hostile_files as hostile
from tests.factories import make_channel, make_user

pytestmark = pytest.mark.django_db

Upload = Callable[[SimpleUploadedFile], object]


@pytest.fixture
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RATE_LIMITS = {scope: (10**6, window) for scope, (_limit, window) in settings.RATE_LIMITS.items()}
    return tmp_path / "media"


def _stored(root: Path) -> set[Path]:
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def _rows() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Channel, Post, PostImage, Punch, Conversation, Message, Sticker))


class Paths:
    """Every upload path, each a call taking one file; made lazily so each call has what it needs."""

    def __init__(self) -> None:
        self.host = make_user(username="host")
        self.kinds = {kind: make_channel(host=self.host, kind=kind) for kind in ("image", "music", "movie", "punch")}
        self.group = groups.group_create(owner=self.host, title="Walkers")
        self.count = 0

    def _next(self) -> int:
        self.count += 1
        return self.count

    def images(self) -> dict[str, Upload]:
        return {
            "post photo": lambda f: post_create_photos(author=self.host, channel=self.kinds["image"], images=[f]),
            "channel cover": lambda f: channel_create(
                host=self.host, name=f"Covered {self._next()}", kind="text", category="moods", cover=f
            ),
            "song cover": lambda f: post_create_song(
                author=self.host, channel=self.kinds["music"], title="a", artist="b", cover=f
            ),
            "film poster": lambda f: post_create_movie(
                author=self.host, channel=self.kinds["movie"], title="Heat", year=1995, rating=5, poster=f
            ),
            "punch photo": self._punch,
            "chat photo": lambda f: attachments.message_send_photo(
                sender=self.host, conversation=self.group, image=f, client_id=f"photo-{self._next()}"
            ),
            "group cover": lambda f: groups.group_create(owner=self.host, title="Covered group", cover=f),
            "sticker picture": lambda f: sticker_create(owner=self.host, image=f),
        }

    def sounds(self) -> dict[str, Upload]:
        return {
            "song": lambda f: post_create_song(
                author=self.host, channel=self.kinds["music"], title="a", artist="b", audio=f
            ),
            "voice message": lambda f: attachments.message_send_voice(
                sender=self.host, conversation=self.group, audio=f, client_id=f"voice-{self._next()}"
            ),
            "sticker voice": lambda f: sticker_create(
                owner=self.host, image=hostile.upload(hostile.jpeg_bytes(), "p.jpg", "image/jpeg"), audio=f
            ),
        }

    def _punch(self, photo: SimpleUploadedFile) -> object:
        person = make_user()
        channel_join(user=person, channel=self.kinds["punch"])
        noon = datetime.combine(datetime.now(UTC).date(), time(12, 0), tzinfo=UTC)
        return punch_in(user=person, channel=self.kinds["punch"], photo=photo, now=noon)


REFUSED_IMAGES: dict[str, tuple[Callable[[], SimpleUploadedFile], set[str]]] = {
    "decompression bomb (10 gigapixels)": (
        lambda: hostile.upload(hostile.png_bomb(), "bomb.png", "image/png"),
        {"too_many_pixels"},
    ),
    "truncated JPEG": (
        lambda: hostile.upload(hostile.truncated(hostile.jpeg_bytes((400, 300))), "cut.jpg", "image/jpeg"),
        {"corrupt_file"},
    ),
    "truncated PNG": (
        lambda: hostile.upload(hostile.truncated(hostile.png_with_location()), "cut.png", "image/png"),
        {"corrupt_file", "unsupported_format"},
    ),
    "SVG with a script": (
        lambda: hostile.upload(hostile.SVG_WITH_SCRIPT, "pic.svg", "image/svg+xml"),
        {"unsupported_format"},
    ),
    "HTML named .jpg": (lambda: hostile.upload(hostile.HTML_PAGE, "pic.jpg", "image/jpeg"), {"unsupported_format"}),
    "empty file": (lambda: hostile.upload(b"", "pic.jpg", "image/jpeg"), {"empty_file"}),
}

CLEANED_IMAGES: dict[str, Callable[[], SimpleUploadedFile]] = {
    "JPEG with GPS in EXIF": lambda: hostile.upload(hostile.jpeg_with_gps_exif(), "IMG_1.jpg", "image/jpeg"),
    "JPEG with XMP location": lambda: hostile.upload(hostile.jpeg_with_xmp(), "IMG_2.jpg", "image/jpeg"),
    "PNG with eXIf, XMP and text": lambda: hostile.upload(hostile.png_with_location(), "a.png", "image/png"),
    "WebP with EXIF and XMP": lambda: hostile.upload(hostile.webp_with_location(), "a.webp", "image/webp"),
    "JPEG that is also HTML": lambda: hostile.upload(hostile.jpeg_html_polyglot(), "poly.jpg", "image/jpeg"),
    "JPEG with a ZIP appended": lambda: hostile.upload(hostile.jpeg_zip_polyglot(), "poly.jpg", "image/jpeg"),
    "PNG named .gif, sent as text/html": lambda: hostile.upload(hostile.png_wide(300, 200), "x.gif", "text/html"),
    "30000×1 pixels": lambda: hostile.upload(hostile.png_wide(), "wide.png", "image/png"),
    "400-frame GIF": lambda: hostile.upload(hostile.gif_frame_bomb(), "anim.gif", "image/gif"),
}

REFUSED_SOUNDS: dict[str, tuple[Callable[[], SimpleUploadedFile], set[str]]] = {
    "an hour of MP3 silence (3.6 MB)": (
        lambda: hostile.upload(hostile.mp3_bomb(hours=1), "long.mp3", "audio/mpeg"),
        {"too_long"},
    ),
    "11 minutes of Opus in WebM that declares no length": (
        lambda: hostile.upload(hostile.webm_without_length(660), "rec.webm", "audio/webm"),
        {"too_long", "unsupported_format"},  # a song may not be WebM at all
    ),
    "truncated FLAC": (
        lambda: hostile.upload(hostile.truncated(hostile.flac_with_location(3)), "cut.flac", "audio/flac"),
        {"corrupt_file"},
    ),
    "a video with no sound": (
        lambda: hostile.upload(hostile.video_only_mp4(), "v.mp4", "audio/mp4"),
        {"unsupported_format"},
    ),
    "SVG named .mp3": (lambda: hostile.upload(hostile.SVG_WITH_SCRIPT, "s.mp3", "audio/mpeg"), {"unsupported_format"}),
}

CLEANED_SOUNDS: dict[str, Callable[[], SimpleUploadedFile]] = {
    "MP3 with ID3 (GPS, comment, cover picture)": lambda: hostile.upload(hostile.mp3_with_id3(), "a.mp3", "audio/mpeg"),
    "FLAC with location comments": lambda: hostile.upload(hostile.flac_with_location(), "a.flac", "audio/flac"),
    "FLAC named .mp3, sent as image/png": lambda: hostile.upload(hostile.flac_with_location(), "a.mp3", "image/png"),
}


def _refused(call: Upload, upload: SimpleUploadedFile, root: Path) -> ServiceError:
    rows, files = _rows(), _stored(root)
    with pytest.raises(ServiceError) as caught:
        call(upload)
    assert _rows() == rows, "a refused upload left a row"
    assert _stored(root) == files, "a refused upload left a file"
    assert caught.value.message
    return caught.value


class TestRefused:
    @pytest.mark.parametrize("sample", list(REFUSED_IMAGES))
    def test_every_image_path_refuses_with_a_code_and_leaves_nothing(self, media_root: Path, sample: str) -> None:
        """Ensure that a hostile picture is refused by every path, with its code, with no row and no file left."""
        make, codes = REFUSED_IMAGES[sample]
        paths = Paths()
        for name, call in paths.images().items():
            error = _refused(call, make(), media_root)
            assert error.code in codes, (name, error.code)
        with pytest.raises(ServiceError) as caught:
            ad_image_process(upload=make())
        assert caught.value.code in codes

    @pytest.mark.parametrize("sample", list(REFUSED_SOUNDS))
    def test_every_sound_path_refuses_with_a_code_and_leaves_nothing(self, media_root: Path, sample: str) -> None:
        make, codes = REFUSED_SOUNDS[sample]
        paths = Paths()
        for name, call in paths.sounds().items():
            error = _refused(call, make(), media_root)
            assert error.code in codes, (name, error.code)
            assert error.field == "audio"


class TestSoundBombs:
    def _decoded_seconds(self, data: bytes, **limits: Any) -> tuple[str, float]:
        """Process `data` as a voice message, counting the seconds of sound decoded on the way."""
        decoded = 0.0
        original = media_audio._decoded_packets

        def counting(container: Any, stream: Any) -> Iterator[Any]:
            nonlocal decoded
            for packet, frames in original(container, stream):
                decoded += sum(frame.samples / frame.sample_rate for frame in frames)
                yield packet, frames

        with (
            mock.patch.object(media_audio, "_decoded_packets", counting),
            pytest.raises(media_audio.MediaError) as caught,
        ):
            media_audio.process_voice(data, **limits)
        return caught.value.code, decoded

    def test_a_long_file_that_declares_its_length_is_refused_before_decoding(self) -> None:
        """Ensure that an hour of compressed silence is refused by its declared length, nothing decoded."""
        code, decoded = self._decoded_seconds(hostile.mp3_bomb(hours=1))
        assert code == "too_long"
        assert decoded == 0

    def test_a_long_file_that_hides_its_length_is_decoded_no_further_than_the_limit(self) -> None:
        """Ensure that a recording without a declared length stops decoding just past the limit (60 s)."""
        code, decoded = self._decoded_seconds(hostile.webm_without_length(660))
        assert code == "too_long"
        assert 60 < decoded < 62


# What FFmpeg reports of a container's own structure (not tags anyone wrote): the MP4 brand and track fields.
CONTAINER_FIELDS = frozenset(
    {"major_brand", "minor_version", "compatible_brands", "language", "handler_name", "vendor_id"}
)


def _kept_location(path: Path) -> list[str]:
    """What in a stored file could still say where it was made."""
    data = path.read_bytes()
    markers = (hostile.LOCATION.encode(), b"xmpmeta", b"<script", b"PK\x03\x04")
    found = [repr(marker) for marker in markers if marker in data]
    try:
        with Image.open(path) as image:
            exif = image.getexif()
            if exif.get_ifd(0x8825) or len(exif):
                found.append(f"EXIF {dict(exif)}")
            found.extend(f"info {key}" for key in image.info if key in {"xmp", "XML:com.adobe.xmp", "exif", "Comment"})
        return found
    except OSError:
        pass
    with av.open(str(path)) as container:
        tags = dict(container.metadata) | {
            f"{stream.index}:{key}": value for stream in container.streams for key, value in stream.metadata.items()
        }
        found.extend(f"tag {key}={value}" for key, value in tags.items() if key.split(":")[-1] not in CONTAINER_FIELDS)
        found.extend(f"stream {stream.type}" for stream in container.streams if stream.type != "audio")
    return found


class TestCleaned:
    def test_no_stored_file_keeps_a_location(self, media_root: Path) -> None:
        """Ensure that every location-bearing or polyglot file, sent through every path, is stored without it."""
        paths = Paths()
        before = _stored(media_root)
        accepted = 0
        for make in CLEANED_IMAGES.values():
            for call in paths.images().values():
                call(make())
                accepted += 1
            # The house ads' picture is saved by the admin form: write it where the others are, to be read back.
            picture = ad_image_process(upload=make())
            (media_root / "ads").mkdir(parents=True, exist_ok=True)
            (media_root / "ads" / str(picture.content.name)).write_bytes(picture.content.read())
            accepted += 1
        for make in CLEANED_SOUNDS.values():
            for call in paths.sounds().values():
                call(make())
                accepted += 1
        stored = _stored(media_root) - before
        assert accepted == len(CLEANED_IMAGES) * 9 + len(CLEANED_SOUNDS) * 3
        assert len(stored) >= accepted
        keeping = {str(path.relative_to(media_root)): _kept_location(path) for path in sorted(stored)}
        keeping = {name: found for name, found in keeping.items() if found}
        assert keeping == {}, keeping
        print(f"{len(stored)} stored files read back from {accepted} accepted uploads; 0 keep a location")  # noqa: T201

    def test_the_samples_do_carry_what_is_looked_for(self, tmp_path: Path) -> None:
        """Ensure that the check above can fail: read the same way, every sample as sent shows its location or
        its second file."""
        samples = {**CLEANED_IMAGES, **CLEANED_SOUNDS}
        del samples["PNG named .gif, sent as text/html"], samples["30000×1 pixels"], samples["400-frame GIF"]
        for number, (sample, make) in enumerate(samples.items()):
            path = tmp_path / f"sample-{number}"
            path.write_bytes(make().read())
            assert _kept_location(path), sample

    def test_ad_pictures_are_cleaned(self) -> None:
        picture = ad_image_process(upload=hostile.upload(hostile.jpeg_with_gps_exif(), "ad.jpg", "image/jpeg"))
        data = picture.content.read()
        assert hostile.LOCATION.encode() not in data
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif()


REGRESSIONS = Path(__file__).resolve().parent.parent / "fuzz" / "regressions"


class TestFuzzFindings:
    """Inputs the fuzz target found (fuzz/regressions/, 2 KB each at most): the first byte picks the entry point."""

    def test_a_voice_whose_format_changes_midway_is_transcoded(self) -> None:
        """Ensure that an MP3 whose frames change rate or layout midway is converted, not a crash."""
        data = (REGRESSIONS / "voice-mp3-format-changes-midway.bin").read_bytes()[1:]
        voice = media_audio.process_voice(data)
        assert voice.duration_s > 0
        with av.open(io.BytesIO(voice.content)) as container:
            assert [stream.type for stream in container.streams] == ["audio"]
        assert media_audio.to_pcm16k_mono(data)

    @pytest.mark.parametrize("path", sorted(REGRESSIONS.glob("*.bin")), ids=lambda path: path.name)
    def test_every_finding_is_cleaned_or_refused(self, path: Path) -> None:
        import sys

        sys.path.insert(0, str(path.parents[2]))
        from fuzz.upload_sanitiser import sanitise

        sanitise(path.read_bytes())  # raises on a finding

    def test_a_sound_in_a_codec_ffmpeg_does_not_know_is_refused(self) -> None:
        data = (REGRESSIONS / "song-unknown-codec.bin").read_bytes()[1:]
        with pytest.raises(media_audio.MediaError) as caught:
            media_audio.process_audio(data)
        assert caught.value.code == "unsupported_format"

    def test_a_gif_whose_second_frame_is_cut_short_is_refused(self) -> None:
        data = (REGRESSIONS / "image-gif-frame-cut-short.bin").read_bytes()[1:]
        with pytest.raises(MediaError) as caught:
            process_image(data)
        assert caught.value.code == "corrupt_file"

    def test_a_gif_whose_frames_lie_outside_its_canvas_is_refused_before_decoding(self) -> None:
        """Ensure that a 453-byte GIF that grows its canvas frame by frame (1.3 GB before) is refused by size."""
        data = (REGRESSIONS / "image-gif-frames-outside-canvas.bin").read_bytes()[1:]
        assert len(data) < 500
        with pytest.raises(MediaError) as caught:
            process_image(data)
        assert caught.value.code == "too_many_pixels"

    def test_a_gif_declaring_frames_of_eleven_minutes_is_stored(self) -> None:
        """Ensure that frame times GIF can't hold (Pillow adds up identical frames) are shortened, not a 500."""
        data = (REGRESSIONS / "image-gif-frame-too-long.bin").read_bytes()[1:]
        stored = process_image(data)
        with Image.open(io.BytesIO(stored.content)) as image:
            assert image.format == "GIF"
            image.load()  # identical frames in a row are merged by Pillow: one frame here, shown for its time
