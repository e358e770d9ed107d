"""Sounds: recognised by content, refused when too long or damaged, and stored without any tags.

The container is chosen from the file's first bytes, and only that demuxer is given the file: FFmpeg's own
probing would also accept playlists and concat scripts that point at other files. Songs are remuxed (a stream
copy, no quality lost) into a fresh container holding the audio stream alone, so ID3, APE, Vorbis comments,
MP4 tags, chapters and cover pictures (FFmpeg sees those as video streams) are all left behind. WAV is
transcoded to AAC in M4A. Every packet is decoded once on the way: that proves the file plays to its end
and measures its length; a file whose declared length is over the limit is refused before any decoding.
"""

import array
import io
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO

import av
from av.audio.frame import AudioFrame
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from media.errors import MediaError, one_of, read_within

SONG_FORMATS = frozenset({"mp3", "m4a", "ogg", "opus", "flac"})
VOICE_FORMATS = SONG_FORMATS | {"webm", "wav"}

_FORMAT_NAMES = {
    "mp3": "MP3",
    "m4a": "M4A",
    "ogg": "Ogg",
    "opus": "Opus",
    "flac": "FLAC",
    "webm": "WebM",
    "wav": "WAV",
}
_FORMATS_BY_DEMUXER_AND_CODEC = {
    ("mp3", "mp3"): "mp3",
    ("ogg", "vorbis"): "ogg",
    ("ogg", "opus"): "opus",
    ("flac", "flac"): "flac",
    ("matroska", "opus"): "webm",
    ("matroska", "vorbis"): "webm",
    ("mov", "aac"): "m4a",
    ("mov", "alac"): "m4a",
}
# Encoders pad the end and containers estimate lengths: a file a moment over the limit is not "too long".
_LENGTH_GRACE_S = 0.5
_AAC_RATES = frozenset({8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000})
_AAC_FALLBACK_RATE = 48_000
_AAC_BIT_RATE_PER_CHANNEL = 96_000
_PCM_RATE = 16_000
_PCM_SAMPLE_BYTES = 2


@dataclass(frozen=True)
class ProcessedAudio:
    content: bytes
    extension: str
    mime: str
    duration_s: float


@dataclass(frozen=True)
class _Target:
    muxer: str
    extension: str
    mime: str
    options: dict[str, str] = field(default_factory=dict)


_M4A = _Target("ipod", "m4a", "audio/mp4", {"movflags": "+faststart"})
_OGG = _Target("ogg", "ogg", "audio/ogg")
_REMUX_TARGETS = {
    "mp3": _Target("mp3", "mp3", "audio/mpeg", {"id3v2_version": "0"}),
    "m4a": _M4A,
    "ogg": _OGG,
    "opus": _OGG,
    "webm": _OGG,
    "flac": _Target("flac", "flac", "audio/flac"),
}


def process_audio(
    source: bytes | IO[bytes],
    *,
    max_bytes: int = 20 * 1024 * 1024,
    max_seconds: float = 600.0,
    allowed: frozenset[str] = SONG_FORMATS,
) -> ProcessedAudio:
    """Check an uploaded sound and return it in a fresh container with no tags and no other streams.

    Raises MediaError: empty_file, file_too_large, unsupported_format, too_long or corrupt_file.
    """
    data = read_within(source, max_bytes=max_bytes, noun=_("sound file"))
    with _opened(data, allowed) as (container, stream, kind):
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > max_seconds + _LENGTH_GRACE_S:
            raise _too_long(max_seconds)
        target = _REMUX_TARGETS.get(kind, _M4A)
        convert = _remux if kind in _REMUX_TARGETS else _to_aac
        content, seconds = _written(target, lambda output: convert(container, stream, output, max_seconds))
    return ProcessedAudio(content=content, extension=target.extension, mime=target.mime, duration_s=round(seconds, 3))


def process_voice(
    source: bytes | IO[bytes], *, max_bytes: int = 10 * 1024 * 1024, max_seconds: float = 60.0
) -> ProcessedAudio:
    """A recorded voice message, transcoded to AAC in M4A: the one format every browser plays.

    Browsers record WebM/Opus (Chromium, Firefox) or MP4/AAC (Safari); both, and the song formats, come out
    the same. Raises MediaError like `process_audio`.
    """
    data = read_within(source, max_bytes=max_bytes, noun=_("voice message"))
    with _opened(data, VOICE_FORMATS) as (container, stream, _kind):
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > max_seconds + _LENGTH_GRACE_S:
            raise _too_long(max_seconds)
        content, seconds = _written(_M4A, lambda output: _to_aac(container, stream, output, max_seconds))
    return ProcessedAudio(content=content, extension=_M4A.extension, mime=_M4A.mime, duration_s=round(seconds, 3))


def to_pcm16k_mono(source: bytes | IO[bytes], *, max_seconds: float = 15.0, max_bytes: int = 20 * 1024 * 1024) -> bytes:
    """The first `max_seconds` of a sound as raw 16-bit little-endian PCM, 16 kHz, mono (for speech recognition)."""
    data = read_within(source, max_bytes=max_bytes, noun=_("sound file"))
    wanted = int(max_seconds * _PCM_RATE) * _PCM_SAMPLE_BYTES
    converter = _Converter(format="s16", layout="mono", rate=_PCM_RATE)
    pcm = bytearray()
    with _opened(data, VOICE_FORMATS) as (container, stream, _kind), _reading():
        for frame in _decoded_frames(container, stream):
            pcm += _pcm_bytes(converter.convert(frame))
            if len(pcm) >= wanted:
                break
        else:
            pcm += _pcm_bytes(converter.flush())
    if not pcm:
        raise _corrupt()
    return bytes(pcm[:wanted])


@contextmanager
def _opened(data: bytes, allowed: frozenset[str]) -> Iterator[tuple[InputContainer, AudioStream, str]]:
    demuxer = _demuxer_for(data)
    if demuxer is None:
        raise _unsupported(allowed)
    try:
        container = av.open(io.BytesIO(data), mode="r", format=demuxer)
    except av.FFmpegError as exc:
        raise _corrupt() from exc
    with container:
        stream = container.streams.audio[0] if container.streams.audio else None
        kind = _format_of(demuxer, stream) if stream is not None else None
        if stream is None or kind not in allowed:
            raise _unsupported(allowed)
        yield container, stream, kind


def _demuxer_for(data: bytes) -> str | None:
    # FFmpeg skips a leading ID3v2 tag for every demuxer, so the real signature follows it.
    id3_end = _id3v2_end(data)
    head = data[id3_end : id3_end + 12]
    if head.startswith(b"fLaC"):
        return "flac"
    if id3_end or _is_mp3_frame(head):
        return "mp3"
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "wav"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head[4:8] == b"ftyp":
        return "mov"
    return None


def _id3v2_end(data: bytes) -> int:
    if len(data) < 10 or not data.startswith(b"ID3"):
        return 0
    size = 0
    for byte in data[6:10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if data[5] & 0x10 else 0
    return 10 + size + footer


def _is_mp3_frame(head: bytes) -> bool:
    # Frame sync (11 bits set), a valid MPEG version and layer III.
    return (
        len(head) >= 2
        and head[0] == 0xFF
        and head[1] & 0xE0 == 0xE0
        and head[1] & 0x18 != 0x08
        and head[1] & 0x06 == 0x02
    )


def _format_of(demuxer: str, stream: AudioStream) -> str | None:
    if stream.codec_context is None:
        return None  # a codec FFmpeg doesn't know: nothing to decode it with (found by fuzz/upload_sanitiser.py)
    codec = stream.codec_context.codec.canonical_name
    if demuxer == "wav" and codec.startswith("pcm_"):
        return "wav"
    return _FORMATS_BY_DEMUXER_AND_CODEC.get((demuxer, codec))


def _declared_seconds(container: InputContainer, stream: AudioStream) -> float | None:
    if stream.duration is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _written(target: _Target, write: Callable[[OutputContainer], float]) -> tuple[bytes, float]:
    # M4A's faststart moves the index to the front by reading its output back, which needs a real file.
    with tempfile.TemporaryDirectory(prefix="media-audio-") as folder:
        path = Path(folder) / f"out.{target.extension}"
        # "bitexact": no encoder or library version strings, so the output says nothing about who processed it.
        options = {"fflags": "+bitexact"}
        with av.open(
            str(path), mode="w", format=target.muxer, options=options, container_options=target.options
        ) as output:
            seconds = write(output)
        return path.read_bytes(), seconds


def _remux(container: InputContainer, stream: AudioStream, output: OutputContainer, max_seconds: float) -> float:
    copy = output.add_stream_from_template(stream)
    length = _Length(max_seconds)
    with _reading():
        for packet, frames in _decoded_packets(container, stream):
            length.add(frames)
            if packet.dts is not None:
                packet.stream = copy
                output.mux(packet)
    return length.checked_seconds()


def _to_aac(container: InputContainer, stream: AudioStream, output: OutputContainer, max_seconds: float) -> float:
    channels = min(stream.layout.nb_channels, 2)
    rate = stream.rate if stream.rate in _AAC_RATES else _AAC_FALLBACK_RATE
    layout = "stereo" if channels == 2 else "mono"
    aac = output.add_stream("aac", rate=rate, layout=layout)
    aac.bit_rate = _AAC_BIT_RATE_PER_CHANNEL * channels
    converter = _Converter(format=aac.codec_context.format.name, layout=layout, rate=rate)
    length = _Length(max_seconds)
    with _reading():
        for _packet, frames in _decoded_packets(container, stream):
            length.add(frames)
            for frame in frames:
                for converted in converter.convert(frame):
                    output.mux(aac.encode(converted))
        for converted in converter.flush():
            output.mux(aac.encode(converted))
        output.mux(aac.encode(None))
    return length.checked_seconds()


@dataclass
class _Converter:
    """Frames in the encoder's own format, numbered by the samples before them.

    The encoder's built-in resampler is set up by the first frame and refuses any later frame whose rate, layout or
    sample format differs, and an MP3 or a chained Ogg may change those midway (found by fuzz/upload_sanitiser.py).
    A resampler is made for each input format in turn instead, and timestamps are counted here, continuous across
    the changes.
    """

    format: str
    layout: str
    rate: int
    _resampler: av.AudioResampler | None = None
    _source: tuple[str, str, int] | None = None
    _samples: int = 0

    def convert(self, frame: AudioFrame) -> list[AudioFrame]:
        source = (frame.format.name, frame.layout.name, frame.sample_rate)
        done: list[AudioFrame] = []
        if self._resampler is None or source != self._source:
            done = self.flush()
            self._resampler = av.AudioResampler(format=self.format, layout=self.layout, rate=self.rate)
            self._source = source
        frame.pts = None
        return done + self._numbered(self._resampler.resample(frame))

    def flush(self) -> list[AudioFrame]:
        return self._numbered(self._resampler.resample(None)) if self._resampler is not None else []

    def _numbered(self, frames: list[AudioFrame]) -> list[AudioFrame]:
        for frame in frames:
            frame.pts = self._samples
            frame.time_base = Fraction(1, self.rate)
            self._samples += frame.samples
        return frames


@dataclass
class _Length:
    """Seconds of sound decoded so far, refused as soon as they pass the limit."""

    max_seconds: float
    seconds: float = 0.0

    def add(self, frames: list[AudioFrame]) -> None:
        self.seconds += sum(frame.samples / frame.sample_rate for frame in frames)
        if self.seconds > self.max_seconds + _LENGTH_GRACE_S:
            raise _too_long(self.max_seconds)

    def checked_seconds(self) -> float:
        if not self.seconds:
            raise _corrupt()
        return self.seconds


def _decoded_packets(
    container: InputContainer, stream: AudioStream
) -> Iterator[tuple["Packet[AudioStream]", list[AudioFrame]]]:
    for packet in container.demux(stream):
        if packet.is_corrupt:
            raise _corrupt()
        yield packet, stream.decode(packet)


def _decoded_frames(container: InputContainer, stream: AudioStream) -> Iterator[AudioFrame]:
    for _packet, frames in _decoded_packets(container, stream):
        yield from frames


@contextmanager
def _reading() -> Iterator[None]:
    try:
        yield
    except av.FFmpegError as exc:
        raise _corrupt() from exc


def _pcm_bytes(frames: list[AudioFrame]) -> bytes:
    # A plane's buffer may be padded past its last sample.
    return b"".join(bytes(frame.planes[0])[: frame.samples * _PCM_SAMPLE_BYTES] for frame in frames)


def _unsupported(allowed: frozenset[str]) -> MediaError:
    names = [name for key, name in _FORMAT_NAMES.items() if key in allowed]
    return MediaError(
        "unsupported_format", _("This file isn't a sound we can play (%(formats)s).") % {"formats": one_of(names)}
    )


def _corrupt() -> MediaError:
    return MediaError(
        "corrupt_file", _("This sound file seems damaged or incomplete, so we can't play it. Try exporting it again.")
    )


def _too_long(max_seconds: float) -> MediaError:
    return MediaError(
        "too_long", _("This sound is too long: the limit is %(length)s.") % {"length": _spoken_length(max_seconds)}
    )


def _spoken_length(seconds: float) -> str:
    if seconds >= 60:
        minutes = seconds / 60
        return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": f"{minutes:g}"}
    return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": f"{seconds:g}"}


def encode_mono(
    samples: array.array[int], *, rate: int, codec: str, muxer: str, tags: dict[str, str] | None = None
) -> bytes:
    """16-bit mono samples encoded by PyAV into one file of `muxer`, with `tags` as its metadata.

    Made sounds (the demo's chime, the tests' tones and hostile files) are written through here."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=muxer) as output:
        output.metadata.update(tags or {})
        stream = output.add_stream(codec, rate=rate, layout="mono")
        assert isinstance(stream, AudioStream)
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(samples))
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = rate
        frame.pts = 0
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()
