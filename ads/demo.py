"""One quiet house ad in the demo, so a newcomer sees what an operator's campaign looks like."""

import io
from datetime import timedelta

from django.utils import timezone
from PIL import Image, ImageDraw

from core.demo import DemoWorld, register_seeder

from .services import campaign_create


def _picture() -> bytes:
    """same's two circles on a warm wash, drawn here so the demo needs no image file."""
    width, height = 1200, 500
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top, bottom = (253, 231, 226), (246, 214, 186)
    for y in range(height):
        mix = y / (height - 1)
        draw.line([(0, y), (width, y)], fill=tuple(round(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)))
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    circles = ImageDraw.Draw(overlay)
    radius = 150
    for cx, colour in ((width // 2 - 70, (239, 111, 94, 215)), (width // 2 + 70, (244, 162, 97, 215))):
        circles.ellipse([cx - radius, height // 2 - radius, cx + radius, height // 2 + radius], fill=colour)
    image = Image.alpha_composite(image.convert("RGBA"), overlay).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@register_seeder(order=60)
def seed_ads(world: DemoWorld) -> None:
    world.things["ad:open-source"] = campaign_create(
        name="Run your own same",
        text="same is open source — run your own, for your school, your town or your friends.",
        link_url="https://example.org/same",
        ends_at=timezone.now() + timedelta(days=365),
        image=_picture(),
    )
