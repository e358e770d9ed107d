"""Draw the app icons from the logo (two overlapping circles, coral and apricot, on the page's cream), so a
phone's home screen shows the same mark as the top bar. The PNGs are committed; run this again after
changing the design:

    .venv/bin/python -m core.make_icons

Drawn 4x larger and scaled down, for smooth edges without an anti-aliasing library.
"""

from pathlib import Path

from PIL import Image, ImageDraw

TARGET = Path(__file__).resolve().parent.parent / "static" / "icons"
CREAM = (246, 243, 238, 255)  # --bg in same.css (light)
CORAL = (239, 111, 94)  # --accent
APRICOT = (244, 162, 97)  # --accent-2
OPACITY = 217  # the logo's .85
SUPERSAMPLE = 4


def draw(size: int, *, mark_share: float, rounded: bool) -> Image.Image:
    """The mark on cream; `mark_share` is how much of the width the two circles span."""
    big = size * SUPERSAMPLE
    canvas = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    background = ImageDraw.Draw(canvas)
    if rounded:
        background.rounded_rectangle((0, 0, big - 1, big - 1), radius=big * 0.22, fill=CREAM)
    else:
        background.rectangle((0, 0, big - 1, big - 1), fill=CREAM)
    # The logo's geometry in a 32-unit box: circles of radius 9 at x=12 and x=20, y=16; it spans 26 units.
    unit = big * mark_share / 26
    centre = big / 2
    for offset, colour in ((-4, CORAL), (4, APRICOT)):
        layer = Image.new("RGBA", (big, big), (0, 0, 0, 0))
        cx = centre + offset * unit
        ImageDraw.Draw(layer).ellipse(
            (cx - 9 * unit, centre - 9 * unit, cx + 9 * unit, centre + 9 * unit), fill=(*colour, OPACITY)
        )
        canvas = Image.alpha_composite(canvas, layer)
    return canvas.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    # "any" icons: a rounded tile, the mark large. Maskable: full bleed, the mark inside the 80% safe circle.
    # Apple's touch icon: opaque and square (iOS rounds the corners itself).
    icons = {
        "icon-192.png": draw(192, mark_share=0.72, rounded=True),
        "icon-512.png": draw(512, mark_share=0.72, rounded=True),
        "maskable-512.png": draw(512, mark_share=0.64, rounded=False),
        "apple-touch-icon.png": draw(180, mark_share=0.66, rounded=False).convert("RGB"),
    }
    for name, image in icons.items():
        image.save(TARGET / name, optimize=True)


if __name__ == "__main__":
    main()
