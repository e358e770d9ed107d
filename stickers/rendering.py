"""Drawing a sticker: a square cut from the photo, 512×512, with its caption set at the bottom.

The caption is white with a dark outline (legible on any photo), in a bundled open font that has Latin and the
6,763 everyday Chinese characters (fonts/caption.otf, a subset of Noto Sans CJK SC Bold). It wraps by words, or
by characters where there are no spaces (Chinese), shrinks to fit three lines, and is drawn on a copy of the
clean picture, so a new caption never lands on an old one.
"""

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIDE = 512
MIN_CROP = 64
FONT_PATH = Path(__file__).resolve().parent / "fonts" / "caption.otf"
_SIZES = (56, 48, 42, 36, 32, 28)
_MAX_LINES = 3
_MARGIN = 24
_QUALITY = 88


@dataclass(frozen=True)
class Crop:
    x: int
    y: int
    size: int

    def fits(self, width: int, height: int) -> bool:
        return (
            self.size >= MIN_CROP
            and self.x >= 0
            and self.y >= 0
            and self.x + self.size <= width
            and self.y + self.size <= height
        )


def centre_crop(width: int, height: int) -> Crop:
    side = min(width, height)
    return Crop((width - side) // 2, (height - side) // 2, side)


def cropped(image: Image.Image, crop: Crop) -> Image.Image:
    """The square `crop` of an upright RGBA image, scaled to 512×512."""
    square = image.crop((crop.x, crop.y, crop.x + crop.size, crop.y + crop.size))
    return square.resize((SIDE, SIDE), Image.Resampling.LANCZOS)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def _wrapped(text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines: list[str] = []
    current = ""
    # Words where there are spaces; each character is its own unit otherwise (Chinese has no spaces).
    units: list[str] = []
    for word in text.split(" "):
        if word and all(ord(ch) < 0x2E80 for ch in word):
            units.append(word + " ")
        else:
            units.extend(word)
            units.append(" ")
    for unit in units:
        trial = current + unit
        if font.getlength(trial.rstrip()) <= width or not current.strip():
            current = trial
        else:
            lines.append(current.rstrip())
            current = unit.lstrip()
    if current.strip():
        lines.append(current.rstrip())
    return lines


def with_caption(base: Image.Image, caption: str) -> Image.Image:
    """A copy of the picture with the caption drawn at its bottom; the picture itself if there is none."""
    picture = base.copy()
    text = " ".join(caption.split())
    if not text:
        return picture
    width = SIDE - 2 * _MARGIN
    for size in _SIZES:
        font = _font(size)
        lines = _wrapped(text, font, width)
        if len(lines) <= _MAX_LINES and all(font.getlength(line) <= width for line in lines):
            break
    lines = lines[:_MAX_LINES]
    draw = ImageDraw.Draw(picture)
    line_height = int(size * 1.2)
    stroke = max(2, size // 12)
    y = SIDE - _MARGIN - line_height * len(lines)
    for line in lines:
        draw.text(
            (SIDE / 2, y),
            line,
            font=font,
            fill=(255, 255, 255, 255),
            stroke_width=stroke,
            stroke_fill=(20, 20, 20, 255),
            anchor="ma",
        )
        y += line_height
    return picture


def webp(image: Image.Image, *, lossless: bool = False) -> bytes:
    """Encoded without any metadata."""
    buffer = io.BytesIO()
    clean = image.copy()
    clean.info = {}
    clean.save(buffer, "WEBP", quality=_QUALITY, lossless=lossless, exif=b"")
    return buffer.getvalue()
