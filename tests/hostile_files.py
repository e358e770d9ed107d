"""Hostile uploads made on the spot (no committed files): bombs, truncated files, polyglots, SVG with script, wrong
names and types, huge dimensions, and photos and sounds carrying a location in EXIF, XMP and ID3.

`LOCATION` is written into every location-bearing sample, so a stored file can be searched for it byte by byte.
"""

import array
import io
import struct
import zipfile
import zlib
from fractions import Fraction

import av
from av.audio.stream import AudioStream
from av.video.stream import VideoStream
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin

from media.audio import encode_mono

LOCATION = "52.5200N-13.4050E-HOME"
XMP_PACKET = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"'
    f' exif:GPSLatitude="52,31.2N" exif:GPSLongitude="13,24.3E" photoshop:City="{LOCATION}"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


def upload(data: bytes, name: str, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


# Images ---------------------------------------------------------------------------------------------------------


def _picture(size: tuple[int, int] = (64, 48)) -> Image.Image:
    return Image.new("RGB", size, (200, 120, 80))


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x010E] = LOCATION  # ImageDescription
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 31.0, 12.0), "E", (13.0, 24.0, 18.0)
    return exif


def jpeg_bytes(size: tuple[int, int] = (64, 48), **options: object) -> bytes:
    buffer = io.BytesIO()
    _picture(size).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def jpeg_with_gps_exif() -> bytes:
    return jpeg_bytes(exif=_gps_exif())


def jpeg_with_xmp() -> bytes:
    return jpeg_bytes(xmp=XMP_PACKET)


def png_with_location() -> bytes:
    """A PNG with an eXIf chunk (GPS), an XMP iTXt chunk and a tEXt comment."""
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP_PACKET.decode())
    info.add_text("Comment", LOCATION)
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG", pnginfo=info, exif=_gps_exif())
    return buffer.getvalue()


def webp_with_location() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "WEBP", exif=_gps_exif(), xmp=XMP_PACKET)
    return buffer.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 100_000) -> bytes:
    """A PNG declaring side×side pixels (10 gigapixels by default) whose data compresses to almost nothing: the
    first rows of zeros, deflated. Decoding it would need gigabytes; only its header may be read."""
    row = b"\x00" + b"\x00" * (side // 8 + 1)  # filter byte + a 1-bit row
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(2000)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def png_wide(width: int = 30_000, height: int = 1) -> bytes:
    """Absurd dimensions yet few pixels: accepted, and scaled down to the longest side allowed."""
    buffer = io.BytesIO()
    Image.new("L", (width, height), 128).save(buffer, "PNG")
    return buffer.getvalue()


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def jpeg_html_polyglot() -> bytes:
    """A JPEG that is also an HTML page: markup in a comment segment and after the end of the image."""
    page = b"<html><body><script>alert(document.domain)</script></body></html>"
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", comment=page)
    return buffer.getvalue() + page


def jpeg_zip_polyglot() -> bytes:
    """A JPEG with a ZIP archive appended: image viewers show the picture, unzip finds a file."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("payload.html", "<script>alert(1)</script>")
    return jpeg_bytes() + archive.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" onload="alert(1)">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)
HTML_PAGE = b"<!doctype html><html><script>alert(1)</script></html>"


def gif_frame_bomb(frames: int = 400) -> bytes:
    """An animation with more frames than kept: stored as its first frame."""
    pictures = [Image.new("P", (32, 32), index % 200) for index in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=10, loop=0)
    return buffer.getvalue()


# Sounds ---------------------------------------------------------------------------------------------------------


def _encoded_silence(codec: str, muxer: str, *, rate: int, seconds: float, metadata: dict[str, str]) -> bytes:
    samples = array.array("h", bytes(2 * int(rate * seconds)))
    return encode_mono(samples, rate=rate, codec=codec, muxer=muxer, tags=metadata)


def flac_with_location(seconds: float = 1.0) -> bytes:
    return _encoded_silence(
        "flac",
        "flac",
        rate=8000,
        seconds=seconds,
        metadata={"title": "walk", "location": LOCATION, "comment": LOCATION},
    )


def wav(seconds: float = 1.0, rate: int = 8000) -> bytes:
    return _encoded_silence("pcm_s16le", "wav", rate=rate, seconds=seconds, metadata={})


def _id3_frame(kind: bytes, body: bytes) -> bytes:
    return kind + struct.pack(">I", len(body)) + b"\x00\x00" + body


def _synchsafe(size: int) -> bytes:
    return bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])


def id3_tag() -> bytes:
    """An ID3v2.3 tag: a title, a user frame with GPS coordinates, a comment and a cover picture."""
    cover = jpeg_with_gps_exif()
    frames = (
        _id3_frame(b"TIT2", b"\x00walk home")
        + _id3_frame(b"TXXX", b"\x00GPS\x00" + LOCATION.encode())
        + _id3_frame(b"COMM", b"\x00eng\x00" + LOCATION.encode())
        + _id3_frame(b"APIC", b"\x00image/jpeg\x00\x03\x00" + cover)
    )
    return b"ID3\x03\x00\x00" + _synchsafe(len(frames)) + frames


def mp3_frames(seconds: float, rate: int = 8000) -> bytes:
    """MP3 frames of silence (FFmpeg's own mp3 encoder when the wheel has one, else a repeated hand-made frame)."""
    try:
        return _encoded_silence("libmp3lame", "mp3", rate=rate, seconds=seconds, metadata={})
    except (av.FFmpegError, ValueError):
        return _silent_mpeg25_frame() * max(1, int(seconds * rate / 576))


def _silent_mpeg25_frame() -> bytes:
    # MPEG-2.5 layer III, 8 kbit/s, 8 kHz, mono, no CRC: 72 * 8000 / 8000 = 72 bytes, all side info zero (silence).
    header = bytes([0xFF, 0xE2, 0x18, 0xC4])
    return header + bytes(68)


def mp3_with_id3(seconds: float = 1.0) -> bytes:
    return id3_tag() + mp3_frames(seconds)


def mp3_bomb(hours: float = 3.0) -> bytes:
    """Hours of silence at 8 kbit/s: a few megabytes that would decode to hours of sound. No Xing header, so its
    length is estimated from the size and the bit rate, and is known before a single packet is decoded."""
    frame = _silent_mpeg25_frame()
    return frame * int(hours * 3600 * 8000 / 576)


def webm_without_length(seconds: float, rate: int = 48_000) -> bytes:
    """Opus in WebM as a browser's recorder writes it: the container declares no length, so only decoding tells.
    One encoded packet of silence repeated: ten minutes cost a few hundred kilobytes."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="webm", options={"live": "1"}) as output:
        stream = output.add_stream("libopus", rate=rate, layout="mono")
        assert isinstance(stream, AudioStream)
        frame_size = stream.codec_context.frame_size or 960
        silence = av.AudioFrame(format="s16", layout="mono", samples=frame_size)
        silence.planes[0].update(bytes(2 * frame_size))
        silence.sample_rate = rate
        silence.pts = 0
        template = None
        for packet in stream.encode(silence):
            template = bytes(packet)
        for packet in stream.encode(None):
            template = template or bytes(packet)
        assert template
        for index in range(int(seconds * rate / frame_size)):
            packet = av.Packet(template)
            packet.stream = stream
            packet.pts = packet.dts = index * frame_size
            packet.time_base = Fraction(1, rate)
            packet.duration = frame_size
            output.mux(packet)
    return buffer.getvalue()


def video_only_mp4() -> bytes:
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        stream = output.add_stream("mpeg4", rate=5)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
        for index in range(3):
            frame = av.VideoFrame.from_image(Image.new("RGB", (32, 32), (index * 40, 0, 0)))
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()
