"""Small real files made on the spot: a photo with GPS in its EXIF, a short song with tags."""

import array
import functools
import io
import math

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from media.audio import encode_mono

GPS_MARK = b"GPS-SECRET-52.52N"
TAG_MARK = "SECRET-TAG-123"


def photo_with_gps(size: tuple[int, int] = (60, 40), name: str = "IMG_0001.jpg") -> SimpleUploadedFile:
    picture = Image.new("RGB", size, (200, 120, 80))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0131] = GPS_MARK.decode()  # Software: a marker we can look for in the stored bytes
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 36.0)
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", exif=exif)
    data = buffer.getvalue()
    assert GPS_MARK in data
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def png(size: tuple[int, int] = (30, 30), name: str = "p.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 200, 90)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@functools.cache
def _tone(*, muxer: str, codec: str, rate: int, hertz: float, seconds: float, title: str) -> bytes:
    """A mono sine tone encoded by PyAV, with a title tag. Kept once made (bytes can't be changed): the five
    minutes of voice that tests send to be refused cost seconds of CPU to make."""
    count = int(seconds * rate)
    # A whole-hertz tone repeats every rate / gcd(rate, hertz) samples: compute one period, then repeat it.
    period = rate // math.gcd(rate, int(hertz)) if float(hertz).is_integer() else count
    one = array.array("h", (int(7000 * math.sin(2 * math.pi * hertz * i / rate)) for i in range(min(period, count))))
    samples = one * (count // len(one)) + one[: count % len(one)] if one else one
    return encode_mono(samples, rate=rate, codec=codec, muxer=muxer, tags={"title": title})


def song(seconds: float = 1.5, name: str = "song.flac", title: str = TAG_MARK) -> SimpleUploadedFile:
    """A short 440 Hz tone in FLAC, tagged with a title we can look for in the stored file."""
    data = _tone(muxer="flac", codec="flac", rate=22050, hertz=440, seconds=seconds, title=title)
    assert title.encode() in data
    return SimpleUploadedFile(name, data, content_type="audio/flac")


def voice_webm(seconds: float = 1.0, title: str = TAG_MARK) -> bytes:
    """What Chromium's MediaRecorder makes: Opus in WebM, no declared length; tagged so we can see tags go."""
    return _tone(muxer="webm", codec="libopus", rate=48_000, hertz=220, seconds=seconds, title=title)
