import io
import pickle
import struct
import time
import zlib

import pytest
from PIL import ExifTags, Image, ImageCms, ImageFile, ImageSequence, PngImagePlugin

from media import images
from media.errors import MediaError
from media.images import ProcessedImage, process_image

SECRET = b"SECRET-TAG-123"
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="SECRET-TAG-123-XMP"/></rdf:RDF></x:xmpmeta>'
    b'<?xpacket end="w"?>'
)
METADATA_KEYS = {"exif", "xmp", "icc_profile", "comment", "Comment", "Description", "Software", "photoshop"}
RED = (255, 0, 0)
BLUE = (0, 0, 255)


# --- fixtures, made here so no binary file is needed ---------------------------------------------------------


def exif_with_gps(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SECRET-TAG-123-MAKE"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 30.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (0.0, 7.0, 39.0)
    gps[ExifTags.GPS.GPSProcessingMethod] = b"ASCII\x00\x00\x00SECRET-TAG-123-GPS"
    return exif


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def two_colour_picture(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: where they end up shows how the picture was turned."""
    picture = Image.new("RGB", size, BLUE)
    picture.paste(RED, (0, 0, size[0] // 2, size[1]))
    return picture.convert(mode)


def encode(picture: Image.Image, format: str, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, format, **options)
    return buffer.getvalue()


def jpeg_with_metadata(size: tuple[int, int] = (40, 20)) -> bytes:
    return encode(
        two_colour_picture(size),
        "JPEG",
        exif=exif_with_gps(),
        xmp=XMP,
        icc_profile=srgb_profile(),
        comment=b"SECRET-TAG-123-COMMENT",
        quality=95,
    )


def png_with_text(mode: str = "RGBA") -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "SECRET-TAG-123-tEXt")
    text.add_text("Software", "SECRET-TAG-123-zTXt", zip=True)
    text.add_itxt("Description", "SECRET-TAG-123-iTXt")
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    picture = Image.new(mode, (30, 20), (0, 128, 0, 100) if mode == "RGBA" else (0, 128, 0))
    return encode(picture, "PNG", pnginfo=text, exif=exif_with_gps(1), icc_profile=srgb_profile())


def noisy_picture(size: tuple[int, int]) -> Image.Image:
    return Image.effect_noise(size, 80).convert("RGB")


def animated_gif(frame_count: int = 3, size: tuple[int, int] = (30, 20)) -> bytes:
    colours = [RED, (0, 255, 0), BLUE, (255, 255, 0)]
    frames = []
    for index in range(frame_count):
        frame = Image.new("RGBA", size, colours[index % len(colours)] + (255,))
        frame.putpixel((index, 0), (0, 0, 0, 0))
        frames.append(frame)
    return encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[100 + 100 * index for index in range(frame_count)],
        loop=0,
        disposal=2,
        comment=b"SECRET-TAG-123-GIF",
    )


def real_png_bomb(width: int, height: int) -> bytes:
    """A genuine 1-bit PNG of width x height: all black, so it compresses to a few kilobytes."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# --- helpers ------------------------------------------------------------------------------------------------


def reopen(content: bytes) -> Image.Image:
    picture = Image.open(io.BytesIO(content))
    picture.load()
    return picture


def alpha_at(picture: Image.Image, xy: tuple[int, int]) -> int:
    pixel = picture.convert("RGBA").getpixel(xy)
    assert isinstance(pixel, tuple)
    return pixel[3]


def assert_no_metadata(content: bytes) -> None:
    assert SECRET not in content
    assert b"GPS" not in content
    assert b"Exif" not in content
    assert b"xpacket" not in content
    picture = reopen(content)
    assert not picture.getexif()
    assert not picture.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not METADATA_KEYS & set(picture.info)
    assert not any(str(key).startswith("XML:") for key in picture.info)
    assert not getattr(picture, "text", {})


def assert_processed_cleanly(result: ProcessedImage) -> None:
    assert_no_metadata(result.content)
    assert_no_metadata(result.thumb)
    assert result.thumb_extension == "webp"
    assert reopen(result.thumb).format == "WEBP"
    assert reopen(result.content).size == (result.width, result.height)
    assert reopen(result.thumb).size == (result.thumb_width, result.thumb_height)


def refusal(source: bytes | io.BytesIO, **limits) -> MediaError:
    with pytest.raises(MediaError) as caught:
        process_image(source, **limits)
    assert caught.value.message
    return caught.value


# --- what comes out ------------------------------------------------------------------------------------------


def test_jpeg_loses_exif_gps_xmp_icc_and_comment():
    result = process_image(jpeg_with_metadata())

    assert (result.extension, result.mime) == ("jpg", "image/jpeg")
    assert_processed_cleanly(result)


def test_jpeg_is_turned_upright_before_its_exif_is_dropped():
    result = process_image(jpeg_with_metadata(size=(40, 20)))

    assert (result.width, result.height) == (20, 40)
    upright = reopen(result.content).convert("RGB")
    # Orientation 6 means "turn 90 degrees clockwise to view": the left (red) half becomes the top.
    assert _close(upright.getpixel((10, 5)), RED)
    assert _close(upright.getpixel((10, 35)), BLUE)
    assert (result.thumb_width, result.thumb_height) == (20, 40)


def test_jpeg_is_saved_progressive():
    result = process_image(jpeg_with_metadata())

    assert reopen(result.content).info.get("progressive")


def test_jpeg_with_extra_pictures_keeps_only_its_main_picture():
    extra = Image.new("RGB", (40, 20), BLUE)
    source = encode(two_colour_picture(), "MPO", save_all=True, append_images=[extra], exif=exif_with_gps())
    assert Image.open(io.BytesIO(source)).format == "MPO"

    result = process_image(source)

    assert (result.extension, result.width, result.height) == ("jpg", 20, 40)
    assert_processed_cleanly(result)
    assert not getattr(reopen(result.content), "is_animated", False)


def test_cmyk_jpeg_comes_out_rgb():
    result = process_image(encode(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"))

    picture = reopen(result.content)
    assert picture.mode == "RGB"
    assert _close(picture.getpixel((8, 8)), RED)


def test_broken_colour_profile_is_dropped_not_refused():
    result = process_image(encode(two_colour_picture(), "JPEG", icc_profile=b"SECRET-TAG-123-not-a-profile"))

    assert_processed_cleanly(result)


def test_png_loses_text_chunks_exif_and_icc_but_keeps_transparency():
    result = process_image(png_with_text("RGBA"))

    assert (result.extension, result.mime) == ("png", "image/png")
    assert_processed_cleanly(result)
    assert reopen(result.content).getpixel((5, 5)) == (0, 128, 0, 100)
    assert reopen(result.thumb).mode == "RGBA"


def test_palette_png_with_transparency_keeps_it_and_gets_a_transparent_thumbnail():
    picture = Image.new("P", (20, 20), 1)
    picture.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    picture.putpixel((0, 0), 0)
    source = encode(picture, "PNG", transparency=0)

    result = process_image(source)

    out = reopen(result.content)
    assert alpha_at(out, (0, 0)) == 0
    assert out.convert("RGBA").getpixel((5, 5)) == (255, 0, 0, 255)
    thumb = reopen(result.thumb)
    assert thumb.mode == "RGBA"
    assert alpha_at(thumb, (0, 0)) == 0


def test_sixteen_bit_grey_png_is_scaled_to_eight_bits_not_clipped():
    result = process_image(encode(Image.new("I;16", (8, 8), 32896), "PNG"))

    assert reopen(result.content).convert("L").getpixel((0, 0)) == 128


def test_webp_loses_exif_xmp_and_icc():
    source = encode(two_colour_picture(), "WEBP", exif=exif_with_gps(1), xmp=XMP, icc_profile=srgb_profile())

    result = process_image(source)

    assert (result.extension, result.mime) == ("webp", "image/webp")
    assert_processed_cleanly(result)


def test_animated_gif_stays_animated_with_its_timing_and_without_its_comment():
    result = process_image(animated_gif(frame_count=3))

    assert (result.extension, result.mime) == ("gif", "image/gif")
    assert_processed_cleanly(result)
    out = Image.open(io.BytesIO(result.content))
    frames = [
        (frame.info["duration"], frame.convert("RGBA").getpixel((10, 10))) for frame in ImageSequence.Iterator(out)
    ]
    assert frames == [(100, (255, 0, 0, 255)), (200, (0, 255, 0, 255)), (300, (0, 0, 255, 255))]
    out.seek(2)
    assert alpha_at(out, (2, 0)) == 0
    assert alpha_at(out, (1, 0)) == 255, "a transparent pixel of an earlier frame trailed"


def test_still_gif_keeps_its_palette_transparency_and_loses_its_comment():
    picture = Image.new("P", (12, 12), 1)
    picture.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    picture.putpixel((0, 0), 0)
    source = encode(picture, "GIF", transparency=0, comment=b"SECRET-TAG-123-GIF")

    result = process_image(source)

    assert (result.extension, result.mime) == ("gif", "image/gif")
    assert_processed_cleanly(result)
    out = reopen(result.content)
    assert alpha_at(out, (0, 0)) == 0
    assert out.convert("RGB").getpixel((5, 5)) == BLUE


def test_animation_over_the_pixel_budget_keeps_its_first_frame_only():
    result = process_image(animated_gif(frame_count=4, size=(30, 20)), max_pixels=30 * 20 * 3)

    out = Image.open(io.BytesIO(result.content))
    assert not getattr(out, "is_animated", False)
    assert out.convert("RGB").getpixel((10, 10)) == RED


def test_animated_webp_stays_animated():
    frames = [Image.new("RGB", (24, 16), colour) for colour in (RED, BLUE)]
    source = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=[120, 240], exif=b"")

    result = process_image(source)

    out = Image.open(io.BytesIO(result.content))
    assert out.n_frames == 2
    assert result.extension == "webp"


def test_large_image_is_downscaled_on_its_longest_side_and_gets_a_small_thumbnail():
    source = encode(noisy_picture((600, 200)), "PNG")

    result = process_image(source, max_side=300, thumb_side=64)

    assert (result.width, result.height) == (300, 100)
    assert (result.thumb_width, result.thumb_height) == (64, 21)
    assert_processed_cleanly(result)


def test_small_image_is_not_upscaled():
    result = process_image(encode(Image.new("RGB", (10, 6), RED), "PNG"), thumb_side=640)

    assert (result.width, result.height, result.thumb_width, result.thumb_height) == (10, 6, 10, 6)


def test_a_stream_is_read_like_bytes():
    result = process_image(io.BytesIO(jpeg_with_metadata()))

    assert result.extension == "jpg"


@pytest.mark.skipif(not images.HEIF_SUPPORTED, reason="pillow-heif is not installed")
def test_heic_becomes_an_upright_jpeg_without_metadata():
    source = encode(two_colour_picture(), "HEIF", exif=exif_with_gps(6).tobytes(), xmp=XMP)
    assert SECRET in source

    result = process_image(source)

    assert (result.extension, result.mime) == ("jpg", "image/jpeg")
    assert (result.width, result.height) == (20, 40)
    assert_processed_cleanly(result)


# --- what is refused -----------------------------------------------------------------------------------------


def test_heic_is_refused_plainly_when_it_cannot_be_read(monkeypatch):
    monkeypatch.setattr(images, "HEIF_SUPPORTED", False)
    heic_header = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64

    error = refusal(heic_header)

    assert error.code == "unsupported_format"
    assert "HEIC" in error.message
    assert "JPEG" in error.message


def test_text_renamed_to_jpg_is_refused_by_its_content():
    upload = io.BytesIO(b"this is a shopping list, not a photo\n" * 10)
    upload.name = "holiday.jpg"

    error = refusal(upload)

    assert error.code == "unsupported_format"
    listed = "JPEG, PNG, WebP, GIF or HEIC" if images.HEIF_SUPPORTED else "JPEG, PNG, WebP or GIF"
    assert error.message == f"This file isn't an image we can read ({listed})."


@pytest.mark.parametrize("format", ["BMP", "TIFF", "PPM"])
def test_formats_outside_the_list_are_refused(format):
    assert refusal(encode(Image.new("RGB", (8, 8)), format)).code == "unsupported_format"


def test_refusals_pickle_for_background_tasks():
    error = pickle.loads(pickle.dumps(refusal(b"")))  # noqa: S301  (our own bytes)

    assert (error.code, error.message, str(error)) == (
        "empty_file",
        "This image is empty.",
        "empty_file: This image is empty.",
    )


def test_empty_file_is_refused():
    assert refusal(b"").code == "empty_file"


def test_too_many_bytes_are_refused_without_reading_the_whole_stream():
    upload = io.BytesIO(jpeg_with_metadata() + b"\x00" * 5000)

    error = refusal(upload, max_bytes=1000)

    assert error.code == "file_too_large"
    assert upload.tell() == 1001


def test_truncated_jpeg_is_refused_as_corrupt():
    whole = encode(noisy_picture((200, 200)), "JPEG", quality=95)

    assert refusal(whole[: len(whole) // 2]).code == "corrupt_file"


def test_truncated_png_is_refused_as_corrupt():
    whole = encode(noisy_picture((100, 100)), "PNG")

    assert refusal(whole[: len(whole) // 2]).code == "corrupt_file"


@pytest.mark.parametrize(
    ("width", "height"),
    [
        (20_000, 20_000),  # beyond Pillow's own error threshold
        (10_000, 10_000),  # between Pillow's warning and error thresholds
        (7_000, 7_000),  # below Pillow's thresholds, above ours
    ],
)
def test_decompression_bombs_are_refused_without_being_decoded(monkeypatch, width, height):
    bomb = real_png_bomb(width, height)
    assert len(bomb) < 100_000

    def must_not_decode(self):
        raise AssertionError("a decompression bomb was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    started = time.perf_counter()

    error = refusal(bomb)

    assert error.code == "too_many_pixels"
    assert "40 megapixels" in error.message
    assert time.perf_counter() - started < 0.5


def test_pixel_limit_is_configurable():
    assert refusal(encode(Image.new("RGB", (100, 100)), "PNG"), max_pixels=9_999).code == "too_many_pixels"


def _close(actual: object, expected: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(actual, tuple)
    return all(abs(a - e) <= tolerance for a, e in zip(actual[:3], expected, strict=True))
