import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from core.demo import DemoWorld, register_seeder
from interests.models import Channel

from .movies import post_create_movie
from .photos import post_create_photos
from .polls import poll_vote, post_create_poll
from .services import post_create_text, same_add
from .songs import post_create_song

DEMO_TEXT_POSTS = [
    ("Insomnia", "night_owl", "3:12 and the fridge hums louder than my thoughts. Anyone else up?"),
    ("Insomnia", "小雨", "Counting the cars outside instead of sheep. 14 so far."),
    ("Insomnia", "lofi_loop", "Made tea at 2am. It's now cold. Classic."),
    ("失眠的人", "小雨", "又是凌晨三点，窗外下着小雨。"),
    ("失眠的人", "night_owl", "睡不着的时候，我会听雨声。"),
]


@register_seeder(order=30)
def seed_text_posts(world: DemoWorld) -> None:
    start = timezone.now() - timedelta(hours=len(DEMO_TEXT_POSTS))
    for index, (channel_name, author, text) in enumerate(DEMO_TEXT_POSTS):
        channel: Channel = world.things[f"channel:{channel_name}"]
        post = post_create_text(author=world.people[author], channel=channel, text=text)
        # Spread the demo over the last hours, so Home reads like a real evening.
        type(post).objects.filter(pk=post.pk).update(created_at=start + timedelta(hours=index))
        for name, person in world.people.items():
            if name != author and (index + len(name)) % 2 == 0:
                same_add(user=person, post=post)


def _demo_photo(seed: int) -> SimpleUploadedFile:
    """A soft two-colour picture with a sun, drawn here so the demo needs no files."""
    palettes = [((255, 183, 153), (120, 90, 160)), ((170, 220, 255), (40, 80, 140)), ((250, 230, 170), (220, 120, 90))]
    top, bottom = palettes[seed % len(palettes)]
    picture = Image.new("RGB", (800, 600))
    draw = ImageDraw.Draw(picture)
    for y in range(600):
        mix = y / 599
        draw.line([(0, y), (800, y)], fill=tuple(int(a + (b - a) * mix) for a, b in zip(top, bottom, strict=True)))
    draw.ellipse((300 + seed * 60, 160, 460 + seed * 60, 320), fill=(255, 240, 220))
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=85)
    return SimpleUploadedFile(f"demo{seed}.jpg", buffer.getvalue(), content_type="image/jpeg")


@register_seeder(order=31)
def seed_other_kinds(world: DemoWorld) -> None:
    people = world.people
    shoes: Channel = world.things["channel:Show me your shoes"]
    post_create_photos(
        author=people["sunflower"], channel=shoes, images=[_demo_photo(0)], text="Walked to the sea in these."
    )
    post_create_photos(
        author=people["demo"], channel=shoes, images=[_demo_photo(1), _demo_photo(2)], text="Rainy day pair."
    )
    songs: Channel = world.things["channel:Songs I loop"]
    post_create_song(
        author=people["lofi_loop"], channel=songs, title="Clair de lune", artist="Claude Debussy", text="3 a.m. music."
    )
    post_create_song(author=people["night_owl"], channel=songs, title="Weightless", artist="Marconi Union")
    films: Channel = world.things["channel:Films that stayed"]
    post_create_movie(
        author=people["demo"],
        channel=films,
        title="Perfect Days",
        year=2023,
        rating=5,
        review="A quiet film about mornings.",
    )
    post_create_movie(
        author=people["sunflower"],
        channel=films,
        title="Perfect Days",
        year=2023,
        rating=4,
        review="Made me clean my room.",
    )
    votes: Channel = world.things["channel:Cats or dogs"]
    poll = post_create_poll(
        author=people["sunflower"], channel=votes, question="Cats or dogs?", options=["Cats", "Dogs", "Both, obviously"]
    )
    for name, choice in [("demo", 2), ("early_bird", 1)]:
        poll_vote(
            user=people[name], post=poll, option_ids=[list(poll.poll.options.order_by("position"))[choice].public_id]
        )
