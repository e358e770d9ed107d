"""Images: recognised by content, refused before decoding when unsafe, re-encoded upright and without metadata.

Nothing from the uploaded file's metadata reaches the output: every frame is rebuilt from pixels and saved with
an empty `info`, so EXIF (with GPS), XMP, IPTC, ICC profiles, comments and PNG text chunks are all left behind.
Colours are converted to sRGB first, so dropping the ICC profile does not shift them.

Animated GIF and WebP stay animated while they are modest (at most `MAX_FRAMES` frames and `max_pixels` pixels
over all frames); a larger animation is kept as its first frame only, rather than refused.
"""

import io
import struct
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from typing import IO, Any

from django.utils.translation import gettext as _
from PIL import Image, ImageCms, ImageFile, ImageOps, ImageSequence

from media.errors import MediaError, one_of, read_within

MAX_FRAMES = 300
THUMB_EXTENSION = "webp"

_BASE_FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
_FORMAT_NAMES = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP", "GIF": "GIF", "HEIF": "HEIC"}
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
# Pillow's plugins also let a damaged file escape as IndexError, EOFError or struct.error (a GIF whose next frame
# is cut short raises IndexError from `is_animated`: found by fuzz/upload_sanitiser.py).
_PARSE_ERRORS = (OSError, SyntaxError, ValueError, IndexError, EOFError, struct.error)
_DECODE_ERRORS = (*_PARSE_ERRORS, Image.DecompressionBombError)

_KEPT_MODES = {
    "JPEG": frozenset({"L", "RGB"}),
    "PNG": frozenset({"1", "L", "LA", "P", "RGB", "RGBA"}),
    "WEBP": frozenset({"RGB", "RGBA"}),
    "GIF": frozenset({"L", "P"}),
}
_PALETTE_MODES = frozenset({"1", "P"})
_SIXTEEN_BIT_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
_PROFILED_MODES = frozenset({"RGB", "RGBA", "CMYK"})
_SAVE_OPTIONS: dict[str, dict[str, Any]] = {
    "JPEG": {"quality": 85, "progressive": True, "optimize": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 85},
    "GIF": {"optimize": True},
}
_THUMB_QUALITY = 80
_DEFAULT_FRAME_MS = 100
_MAX_FRAME_MS = 655_350
_SRGB = ImageCms.createProfile("sRGB")


# pillow-heif (its libheif and codecs: ~12 MB of memory) is loaded by the first upload, not at import: a web
# process that never reads a picture does not carry it (tests/test_web_process.py).
HEIF_SUPPORTED = find_spec("pillow_heif") is not None
_heif_lock = threading.Lock()
_heif_registered = False


def _register_heif_opener() -> None:
    global _heif_registered
    with _heif_lock:
        if not _heif_registered:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _heif_registered = True


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes
    extension: str
    mime: str
    width: int
    height: int
    thumb: bytes
    thumb_extension: str
    thumb_width: int
    thumb_height: int


@dataclass(frozen=True)
class _Output:
    pillow_format: str
    extension: str
    mime: str


_JPEG = _Output("JPEG", "jpg", "image/jpeg")
# A JPEG carrying further pictures (phones' depth maps, 3D pairs) opens as "MPO": only its main picture is kept.
_OUTPUTS = {
    "JPEG": _JPEG,
    "MPO": _JPEG,
    "HEIF": _JPEG,
    "PNG": _Output("PNG", "png", "image/png"),
    "WEBP": _Output("WEBP", "webp", "image/webp"),
    "GIF": _Output("GIF", "gif", "image/gif"),
}


@dataclass(frozen=True)
class _Frame:
    image: Image.Image
    duration_ms: int


def process_image(
    source: bytes | IO[bytes],
    *,
    max_bytes: int = 15 * 1024 * 1024,
    max_pixels: int = 40_000_000,
    max_side: int = 4096,
    thumb_side: int = 640,
) -> ProcessedImage:
    """Check an uploaded image and return it re-encoded without metadata, plus a WebP thumbnail.

    Raises MediaError: empty_file, file_too_large, unsupported_format, too_many_pixels or corrupt_file.
    """
    data = read_within(source, max_bytes=max_bytes, noun=_("image"))
    with _open_image(data, max_pixels=max_pixels) as image:
        output = _OUTPUTS[str(image.format)]
        loop = image.info.get("loop")
        frames = _upright_frames(image, output, max_pixels=max_pixels, max_side=max_side)
    content = _encoded(frames, output, loop=loop)
    first = frames[0].image
    thumb, thumb_width, thumb_height = _thumbnail(first, thumb_side)
    return ProcessedImage(
        content=content,
        extension=output.extension,
        mime=output.mime,
        width=first.width,
        height=first.height,
        thumb=thumb,
        thumb_extension=THUMB_EXTENSION,
        thumb_width=thumb_width,
        thumb_height=thumb_height,
    )


def open_upright(
    source: bytes | IO[bytes], *, max_bytes: int = 15 * 1024 * 1024, max_pixels: int = 40_000_000
) -> Image.Image:
    """The first frame of an uploaded image, decoded, upright, in sRGB, as RGBA, with no metadata — for
    features that draw on a picture (stickers). Raises MediaError like `process_image`."""
    data = read_within(source, max_bytes=max_bytes, noun=_("image"))
    with _open_image(data, max_pixels=max_pixels) as image, _decoding():
        image.load()
        upright = _in_srgb(ImageOps.exif_transpose(image))
        if upright.mode in _SIXTEEN_BIT_GREY_MODES:
            upright = upright.convert("I").point(lambda value: value / 257).convert("L")
        rgba = upright.convert("RGBA")
    rgba.info = {}
    return rgba


def _readable_formats() -> tuple[str, ...]:
    if not HEIF_SUPPORTED:
        return _BASE_FORMATS
    if not _heif_registered:
        _register_heif_opener()
    return (*_BASE_FORMATS, "HEIF")


def _open_image(data: bytes, *, max_pixels: int) -> ImageFile.ImageFile:
    """The image with only its header read; its pixel count is checked before anything is decoded."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its two bomb thresholds; we refuse at both. Before Python 3.14 this filter
            # is process-wide, so a race can at worst leave it installed: bomb-sized opens elsewhere then fail loudly.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_readable_formats())
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise _too_many_pixels(max_pixels) from exc
    except _PARSE_ERRORS as exc:
        raise _unsupported(data) from exc
    if image.width * image.height > max_pixels:
        image.close()
        raise _too_many_pixels(max_pixels)
    return image


def _upright_frames(image: Image.Image, output: _Output, *, max_pixels: int, max_side: int) -> list[_Frame]:
    with _decoding():
        animated = _keeps_animation(image, max_pixels)
    return [
        _Frame(
            _prepared(frame, output, animated=animated, max_side=max_side),
            _frame_ms(frame) if animated else 0,
        )
        for frame in _decoded_frames(image, animated=animated, max_pixels=max_pixels)
    ]


def _frame_ms(frame: Image.Image) -> int:
    # GIF stores a frame's time in 16 bits of centiseconds, and Pillow raised OverflowError saving a longer one that a
    # damaged file declared (found by fuzz/upload_sanitiser.py): clamp it to what both formats can hold.
    try:
        duration = int(frame.info.get("duration", _DEFAULT_FRAME_MS))
    except (TypeError, ValueError, OverflowError):
        duration = _DEFAULT_FRAME_MS
    return min(max(duration, 0), _MAX_FRAME_MS)


def _durations(frames: list[_Frame]) -> list[int]:
    # Pillow's GIF writer merges identical frames in a row and adds up their times, which must still fit 16 bits of
    # centiseconds: when the whole animation is longer than that, every frame is shortened to share it.
    durations = [frame.duration_ms for frame in frames]
    if sum(durations) > _MAX_FRAME_MS:
        share = _MAX_FRAME_MS // len(durations)
        durations = [min(duration, share) for duration in durations]
    return durations


def _keeps_animation(image: Image.Image, max_pixels: int) -> bool:
    # Every kept frame is held in memory, so the pixel budget covers all frames together.
    if image.format not in {"GIF", "WEBP"} or not getattr(image, "is_animated", False):
        return False
    frame_count = int(getattr(image, "n_frames", 1))
    return frame_count <= MAX_FRAMES and frame_count * image.width * image.height <= max_pixels


def _decoded_frames(image: Image.Image, *, animated: bool, max_pixels: int) -> Iterator[Image.Image]:
    # A GIF frame may lie outside the picture's declared size, and Pillow then grows the canvas to hold it when it
    # seeks there: a 453-byte GIF of 32×1568 pixels took 1.3 GB and 5 s (found by fuzz/upload_sanitiser.py). So the
    # budget is checked again, frame by frame, on the size each frame has before it is decoded.
    decoded = 0
    with _decoding():
        for frame in ImageSequence.Iterator(image) if animated else (image,):
            decoded += frame.width * frame.height
            if decoded > max_pixels:
                raise _too_many_pixels(max_pixels)
            frame.load()
            yield frame


@contextmanager
def _decoding() -> Iterator[None]:
    try:
        yield
    except _DECODE_ERRORS as exc:
        raise MediaError(
            "corrupt_file", _("This image seems damaged or incomplete, so we can't use it. Try saving it again.")
        ) from exc


def _prepared(frame: Image.Image, output: _Output, *, animated: bool, max_side: int) -> Image.Image:
    """A new image of this frame: upright, in sRGB, in a mode the output format keeps, within max_side."""
    image = _in_srgb(ImageOps.exif_transpose(frame))
    image = _in_output_mode(image, output, animated=animated, resizing=max(image.size) > max_side)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    image.info = {"transparency": image.info["transparency"]} if "transparency" in image.info else {}
    return image


def _in_srgb(image: Image.Image) -> Image.Image:
    icc_profile = image.info.get("icc_profile")
    if not icc_profile or image.mode not in _PROFILED_MODES:
        return image
    try:
        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        converted = ImageCms.profileToProfile(
            image, source_profile, _SRGB, outputMode="RGBA" if image.mode == "RGBA" else "RGB"
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        # A broken profile is no reason to refuse the photo: its pixels are used as they are.
        return image
    return converted or image


def _in_output_mode(image: Image.Image, output: _Output, *, animated: bool, resizing: bool) -> Image.Image:
    if animated:
        return image.convert("RGBA")
    if image.mode in _SIXTEEN_BIT_GREY_MODES:
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    # Palette images are resized in full colour: resizing a palette picks nearest pixels and looks jagged.
    keeps_mode = image.mode in _KEPT_MODES[output.pillow_format]
    if keeps_mode and not (resizing and image.mode in _PALETTE_MODES):
        return image
    if output.pillow_format == "JPEG":
        return _on_white(image)
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def _on_white(image: Image.Image) -> Image.Image:
    if not image.has_transparency_data:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


def _encoded(frames: list[_Frame], output: _Output, *, loop: object) -> bytes:
    options = dict(_SAVE_OPTIONS[output.pillow_format])
    if len(frames) > 1:
        options |= {
            "save_all": True,
            "append_images": [frame.image for frame in frames[1:]],
            "duration": _durations(frames),
        }
        if isinstance(loop, int):
            options["loop"] = loop
        if output.pillow_format == "GIF":
            # Frames are whole pictures; clearing each before the next keeps transparent pixels from trailing.
            options["disposal"] = 2
    buffer = io.BytesIO()
    frames[0].image.save(buffer, output.pillow_format, exif=b"", **options)
    return buffer.getvalue()


def _thumbnail(image: Image.Image, side: int) -> tuple[bytes, int, int]:
    # Pillow 13's convert() of a palette image with a transparent index gives the source's own palette an alpha
    # channel, after which that source saves as an all-black GIF: convert a copy.
    source = image.copy() if image.mode == "P" else image
    thumb = source.convert("RGBA" if source.has_transparency_data else "RGB")
    thumb.thumbnail((side, side), Image.Resampling.LANCZOS)
    thumb.info = {}
    buffer = io.BytesIO()
    thumb.save(buffer, "WEBP", quality=_THUMB_QUALITY, exif=b"")
    return buffer.getvalue(), thumb.width, thumb.height


def _unsupported(data: bytes) -> MediaError:
    if _looks_like_heif(data) and not HEIF_SUPPORTED:
        return MediaError(
            "unsupported_format",
            _(
                "HEIC photos can't be read here yet. Please send it as a JPEG "
                "(on an iPhone: Settings, Camera, Formats, Most Compatible)."
            ),
        )
    names = [_FORMAT_NAMES[name] for name in _readable_formats()]
    return MediaError(
        "unsupported_format", _("This file isn't an image we can read (%(formats)s).") % {"formats": one_of(names)}
    )


def _looks_like_heif(data: bytes) -> bool:
    return data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS


def _too_many_pixels(max_pixels: int) -> MediaError:
    return MediaError(
        "too_many_pixels",
        _("This image has too many pixels: the limit is %(megapixels)s megapixels.")
        % {"megapixels": f"{max_pixels / 1_000_000:g}"},
    )
