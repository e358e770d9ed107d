import array
import functools
import io
import itertools
import math
import os
import struct
import time
import zlib

import av
import pytest
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

from media import audio
from media.audio import SONG_FORMATS, VOICE_FORMATS, ProcessedAudio, process_audio, process_voice, to_pcm16k_mono
from media.errors import MediaError

SECRET = b"SECRET-TAG-123"
TAGS = {"title": "SECRET-TAG-123", "artist": "SECRET-TAG-123-ARTIST", "comment": "SECRET-TAG-123-COMMENT"}
TONE_HZ = 440


# --- fixtures, encoded here with PyAV so no binary file is needed ---------------------------------------------


@functools.cache
def tone_second(rate: int, channels: int) -> bytes:
    """One second of a 440 Hz tone as interleaved 16-bit samples."""
    samples = array.array("h")
    for index in range(rate):
        value = int(8000 * math.sin(2 * math.pi * TONE_HZ * index / rate))
        samples.extend([value] * channels)
    return samples.tobytes()


class _Unseekable:
    """A sink without seek(), like a live recording: muxers then cannot go back to write the length."""

    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        return len(chunk)


def encode_tone(
    muxer: str,
    codec: str,
    *,
    seconds: float = 2.0,
    rate: int = 44_100,
    layout: str = "stereo",
    tags: dict[str, str] | None = None,
    codec_options: dict[str, str] | None = None,
    cover: bytes | None = None,
    seekable: bool = True,
    silent: bool = False,
) -> bytes:
    sink: io.BytesIO | _Unseekable = io.BytesIO() if seekable else _Unseekable()
    channels = 2 if layout == "stereo" else 1
    with av.open(sink, mode="w", format=muxer) as output:
        stream = output.add_stream(codec, rate=rate, layout=layout, options=codec_options or {})
        assert isinstance(stream, AudioStream)
        for key, value in (tags or {}).items():
            output.metadata[key] = value
            stream.metadata[key] = value
        if cover is not None:
            _add_cover(output, cover)
        second = bytes(rate * channels * 2) if silent else tone_second(rate, channels)
        frame = av.AudioFrame(format="s16", layout=layout, samples=rate)
        frame.planes[0].update(second)
        frame.sample_rate = rate
        whole, part = divmod(seconds, 1)
        for index in range(int(whole)):
            frame.pts = index * rate
            output.mux(stream.encode(frame))
        if part:
            tail = av.AudioFrame(format="s16", layout=layout, samples=int(rate * part))
            tail.planes[0].update(second[: int(rate * part) * channels * 2])
            tail.sample_rate = rate
            tail.pts = int(whole) * rate
            output.mux(stream.encode(tail))
        output.mux(stream.encode(None))
    return sink.getvalue() if isinstance(sink, io.BytesIO) else bytes(sink.data)


def _add_cover(output, picture: bytes) -> None:
    cover = output.add_stream("png")
    cover.width, cover.height, cover.pix_fmt = 1, 1, "rgb24"
    cover.disposition = av.stream.Disposition.attached_pic
    output.start_encoding()
    packet = av.Packet(picture)
    packet.stream = cover
    packet.pts = packet.dts = 0
    output.mux(packet)


def mp4_video_with_sound() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as output:
        output.metadata["title"] = "SECRET-TAG-123"
        video = output.add_stream("mpeg4", rate=10)
        assert isinstance(video, VideoStream)
        video.width, video.height, video.pix_fmt = 32, 32, "yuv420p"
        sound = output.add_stream("aac", rate=44_100, layout="mono")
        assert isinstance(sound, AudioStream)
        for index in range(10):
            picture = av.VideoFrame(32, 32, "yuv420p")
            picture.pts = index
            output.mux(video.encode(picture))
        output.mux(video.encode(None))
        second = av.AudioFrame(format="s16", layout="mono", samples=44_100)
        second.planes[0].update(tone_second(44_100, 1))
        second.sample_rate, second.pts = 44_100, 0
        output.mux(sound.encode(second))
        output.mux(sound.encode(None))
    return buffer.getvalue()


def cover_png() -> bytes:
    """A 1x1 PNG whose text chunk carries the planted marker, as a stand-in for album art."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00SECRET-TAG-123-COVER")
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


VORBIS = {"strict": "-2"}  # the bundled FFmpeg has only its own, "experimental", Vorbis encoder

SONGS = [
    pytest.param("mp3", "libmp3lame", None, 44_100, "mp3", "audio/mpeg", "mp3", id="mp3"),
    pytest.param("ogg", "vorbis", VORBIS, 44_100, "ogg", "audio/ogg", "vorbis", id="ogg-vorbis"),
    pytest.param("ogg", "libopus", None, 48_000, "ogg", "audio/ogg", "opus", id="ogg-opus"),
    pytest.param("flac", "flac", None, 44_100, "flac", "audio/flac", "flac", id="flac"),
    pytest.param("ipod", "aac", None, 44_100, "m4a", "audio/mp4", "aac", id="m4a-aac"),
    pytest.param("ipod", "alac", None, 44_100, "m4a", "audio/mp4", "alac", id="m4a-alac"),
]


# --- helpers ------------------------------------------------------------------------------------------------


def decoded(data: bytes) -> bytes:
    """All the sound in a file as interleaved 16-bit samples."""
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        channels = stream.layout.nb_channels
        resampler = av.AudioResampler(format="s16", layout=stream.layout, rate=stream.rate)
        pcm = bytearray()
        for frame in container.decode(stream):
            for piece in resampler.resample(frame):
                pcm += bytes(piece.planes[0])[: piece.samples * channels * 2]
    return bytes(pcm)


def assert_tag_free(content: bytes) -> None:
    assert SECRET not in content
    with av.open(io.BytesIO(content), mode="r") as container:
        assert [stream.type for stream in container.streams] == ["audio"]
        metadata = [container.metadata, *(stream.metadata for stream in container.streams)]
        for tags in metadata:
            assert not {"title", "artist", "comment"} & {key.lower() for key in tags}
            assert not any("SECRET" in value for value in tags.values())
        assert not container.chapters()


def assert_plays_for(result: ProcessedAudio, seconds: float) -> None:
    assert result.duration_s == pytest.approx(seconds, abs=0.05)
    with av.open(io.BytesIO(result.content), mode="r") as container:
        stream = container.streams.audio[0]
        played = sum(frame.samples / frame.sample_rate for frame in container.decode(stream))
    assert played == pytest.approx(seconds, abs=0.1)


def refusal(source: bytes | io.BytesIO, **options) -> MediaError:
    with pytest.raises(MediaError) as caught:
        process_audio(source, **options)
    assert caught.value.message
    return caught.value


def zero_crossings(pcm: bytes) -> int:
    samples = array.array("h", pcm)
    return sum(1 for before, after in itertools.pairwise(samples) if (before < 0) != (after < 0))


# --- what comes out ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("muxer", "codec", "options", "rate", "extension", "mime", "out_codec"), SONGS)
def test_song_is_copied_into_a_fresh_container_without_tags(muxer, codec, options, rate, extension, mime, out_codec):
    source = encode_tone(muxer, codec, rate=rate, tags=TAGS, codec_options=options)
    assert SECRET in source

    result = process_audio(source)

    assert (result.extension, result.mime) == (extension, mime)
    assert_tag_free(result.content)
    assert_plays_for(result, 2.0)
    with av.open(io.BytesIO(result.content), mode="r") as container:
        assert container.streams.audio[0].codec_context.codec.canonical_name == out_codec
    assert decoded(result.content) == decoded(source), "a stream copy must not change a single sample"


@pytest.mark.parametrize(("muxer", "codec"), [("mp3", "libmp3lame"), ("flac", "flac")])
def test_cover_pictures_are_dropped(muxer, codec):
    source = encode_tone(muxer, codec, tags=TAGS, cover=cover_png())
    with av.open(io.BytesIO(source), mode="r") as container:
        assert len(container.streams.video) == 1

    result = process_audio(source)

    assert_tag_free(result.content)
    assert b"PNG" not in result.content


def test_sound_of_an_mp4_video_is_kept_without_the_picture():
    result = process_audio(mp4_video_with_sound())

    assert result.extension == "m4a"
    assert_tag_free(result.content)
    assert_plays_for(result, 1.0)


def test_flac_behind_an_id3_tag_is_recognised_and_loses_the_tag():
    frame = b"\x03SECRET-TAG-123-ID3"
    body = b"TIT2" + struct.pack(">I", len(frame)) + b"\x00\x00" + frame
    syncsafe = bytes((len(body) >> shift) & 0x7F for shift in (21, 14, 7, 0))
    source = b"ID3\x04\x00\x00" + syncsafe + body + encode_tone("flac", "flac")

    result = process_audio(source)

    assert result.extension == "flac"
    assert_tag_free(result.content)


def test_m4a_output_starts_with_its_index_so_browsers_can_play_it_early():
    result = process_audio(encode_tone("ipod", "aac", tags=TAGS))

    assert result.content.find(b"moov") < result.content.find(b"mdat")


def test_mp3_output_has_no_id3_tag_at_all():
    result = process_audio(encode_tone("mp3", "libmp3lame", tags=TAGS))

    assert not result.content.startswith(b"ID3")
    assert b"TAG" not in result.content[-128:]


def test_wav_voice_recording_becomes_aac_in_m4a():
    source = encode_tone("wav", "pcm_s16le", rate=48_000, layout="mono", tags=TAGS)

    result = process_audio(source, allowed=VOICE_FORMATS)

    assert (result.extension, result.mime) == ("m4a", "audio/mp4")
    assert_tag_free(result.content)
    assert_plays_for(result, 2.0)
    assert result.content.find(b"moov") < result.content.find(b"mdat")
    with av.open(io.BytesIO(result.content), mode="r") as container:
        stream = container.streams.audio[0]
        assert (stream.codec_context.codec.canonical_name, stream.rate, stream.layout.nb_channels) == ("aac", 48_000, 1)


def test_webm_opus_voice_recording_is_copied_into_ogg():
    source = encode_tone("webm", "libopus", rate=48_000, layout="mono", tags=TAGS, seekable=False)

    result = process_audio(source, allowed=VOICE_FORMATS)

    assert (result.extension, result.mime) == ("ogg", "audio/ogg")
    assert_tag_free(result.content)
    assert_plays_for(result, 2.0)


def test_a_stream_is_read_like_bytes():
    result = process_audio(io.BytesIO(encode_tone("flac", "flac")))

    assert result.extension == "flac"


def test_voice_formats_include_the_song_formats():
    assert SONG_FORMATS < VOICE_FORMATS
    assert {"webm", "wav"} <= VOICE_FORMATS - SONG_FORMATS


# --- what is refused -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("muxer", "codec", "rate", "seekable"),
    [("wav", "pcm_s16le", 44_100, True), ("webm", "libopus", 48_000, False)],
)
def test_voice_formats_are_not_songs(muxer, codec, rate, seekable):
    error = refusal(encode_tone(muxer, codec, rate=rate, seekable=seekable))

    assert error.code == "unsupported_format"
    assert error.message == "This file isn't a sound we can play (MP3, M4A, Ogg, Opus or FLAC)."


def test_png_renamed_to_mp3_is_refused_by_its_content():
    upload = io.BytesIO(cover_png())
    upload.name = "song.mp3"

    assert refusal(upload).code == "unsupported_format"


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"just some text, definitely not a song\n" * 20, id="text"),
        pytest.param(os.urandom(4096), id="random"),
        pytest.param(b"#EXTM3U\n#EXTINF:10,\nhttp://127.0.0.1/secret.mp3\n", id="playlist"),
        pytest.param(b"ffconcat version 1.0\nfile /etc/passwd\n", id="concat-script"),
    ],
)
def test_things_that_are_not_sound_are_refused(content):
    assert refusal(content).code == "unsupported_format"


def test_empty_file_is_refused():
    assert refusal(b"").code == "empty_file"


def test_too_many_bytes_are_refused_without_reading_the_whole_stream():
    upload = io.BytesIO(encode_tone("flac", "flac"))

    error = refusal(upload, max_bytes=1000)

    assert error.code == "file_too_large"
    assert upload.tell() == 1001


def test_m4a_cut_before_its_index_is_refused_as_corrupt():
    whole = encode_tone("ipod", "aac")  # written without faststart: the index is at the end
    assert whole.find(b"moov") > whole.find(b"mdat")

    assert refusal(whole[: len(whole) // 2]).code == "corrupt_file"


@pytest.mark.parametrize(
    ("muxer", "codec"),
    [("flac", "flac"), ("wav", "pcm_s16le")],
)
def test_truncated_file_is_refused_as_corrupt(muxer, codec):
    whole = encode_tone(muxer, codec)

    assert refusal(whole[: len(whole) // 2 + 1], allowed=VOICE_FORMATS).code == "corrupt_file"


def test_ogg_with_garbage_after_its_first_page_is_refused_as_corrupt():
    whole = encode_tone("ogg", "libopus", rate=48_000)

    assert refusal(whole[:200] + os.urandom(20_000)).code == "corrupt_file"


def test_flac_header_without_any_sound_is_refused_as_corrupt():
    whole = encode_tone("flac", "flac")

    assert refusal(whole[:200] + bytes(5000)).code == "corrupt_file"


def test_thirty_one_minute_song_is_refused_from_its_declared_length_without_decoding(monkeypatch):
    long_song = encode_tone("flac", "flac", seconds=31 * 60, rate=8000, layout="mono", silent=True)

    def must_not_decode(*args):
        raise AssertionError("a song declared too long was decoded")

    monkeypatch.setattr(audio, "_decoded_packets", must_not_decode)
    started = time.perf_counter()

    error = refusal(long_song)

    assert error.code == "too_long"
    assert error.message == "This sound is too long: the limit is 10 minutes."
    assert time.perf_counter() - started < 0.5


def test_recording_of_unknown_length_is_measured_while_decoding_and_refused_once_over():
    recording = encode_tone("webm", "libopus", seconds=10, rate=48_000, layout="mono", seekable=False)
    with av.open(io.BytesIO(recording), mode="r") as container:
        assert container.duration is None
        assert container.streams.audio[0].duration is None

    error = refusal(recording, allowed=VOICE_FORMATS, max_seconds=3)

    assert error.code == "too_long"
    assert error.message == "This sound is too long: the limit is 3 seconds."
    assert process_audio(recording, allowed=VOICE_FORMATS, max_seconds=10).duration_s == pytest.approx(10, abs=0.05)


# --- speech recognition input ---------------------------------------------------------------------------------


def test_pcm_is_16_khz_mono_16_bit_and_keeps_the_tone():
    pcm = to_pcm16k_mono(encode_tone("mp3", "libmp3lame", rate=44_100, layout="stereo"))

    assert len(pcm) == pytest.approx(2 * 16_000 * 2, abs=2 * 1152)
    one_second = pcm[16_000 : 16_000 + 32_000]
    assert zero_crossings(one_second) == pytest.approx(2 * TONE_HZ, abs=10)


def test_pcm_is_capped_at_max_seconds():
    pcm = to_pcm16k_mono(encode_tone("webm", "libopus", seconds=5, rate=48_000, layout="mono"), max_seconds=1.5)

    assert len(pcm) == 1.5 * 16_000 * 2


def test_pcm_accepts_voice_formats_and_refuses_other_things():
    assert to_pcm16k_mono(encode_tone("wav", "pcm_s16le", rate=8000, layout="mono"))
    with pytest.raises(MediaError) as caught:
        to_pcm16k_mono(cover_png())
    assert caught.value.code == "unsupported_format"


# --- voice messages ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("muxer", "codec", "rate", "layout", "seekable"),
    [
        pytest.param("webm", "libopus", 48_000, "mono", False, id="chromium-webm-opus"),
        pytest.param("ipod", "aac", 44_100, "mono", True, id="safari-mp4-aac"),
        pytest.param("ogg", "libopus", 48_000, "stereo", True, id="firefox-ogg-opus"),
        pytest.param("wav", "pcm_s16le", 16_000, "mono", True, id="wav"),
    ],
)
def test_voice_message_from_any_browser_becomes_tag_free_aac_in_m4a(muxer, codec, rate, layout, seekable):
    source = encode_tone(muxer, codec, rate=rate, layout=layout, tags=TAGS, seekable=seekable)

    result = process_voice(source)

    assert (result.extension, result.mime) == ("m4a", "audio/mp4")
    assert_tag_free(result.content)
    assert_plays_for(result, 2.0)
    with av.open(io.BytesIO(result.content), mode="r") as container:
        assert container.streams.audio[0].codec_context.codec.canonical_name == "aac"


def test_voice_message_over_a_minute_is_refused_even_without_a_declared_length():
    five_minutes = encode_tone("webm", "libopus", seconds=300, rate=48_000, layout="mono", silent=True, seekable=False)

    error = refusal_voice(five_minutes)

    assert error.code == "too_long"
    assert error.message == "This sound is too long: the limit is 1 minute."


def test_picture_sent_as_a_voice_message_is_refused():
    error = refusal_voice(cover_png())

    assert error.code == "unsupported_format"


def refusal_voice(source: bytes) -> MediaError:
    with pytest.raises(MediaError) as caught:
        process_voice(source)
    return caught.value
