"""Demo punches: a few mornings of early birds, and a chime to wake up to."""

import array
import math
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.demo import DemoWorld, register_seeder
from interests.models import Channel
from posts.songs import post_create_song

from .services import playlist_add, punch_in


def _chime(seconds: float = 6.0, rate: int = 44_100) -> SimpleUploadedFile:
    """A soft C-major arpeggio, made here so the demo needs no audio file."""
    from media.audio import encode_mono  # PyAV: only when the demo is seeded, not in every web process

    notes = [261.63, 329.63, 392.00, 523.25]
    samples = array.array("h")
    for index in range(int(seconds * rate)):
        t = index / rate
        value = 0.0
        for n, frequency in enumerate(notes):
            start = n * 0.45
            if t >= start:
                value += math.sin(2 * math.pi * frequency * t) * math.exp(-(t - start) * 1.3)
        samples.append(int(max(-1.0, min(1.0, value / 3)) * 12_000))
    data = encode_mono(samples, rate=rate, codec="flac", muxer="flac")
    return SimpleUploadedFile("chime.flac", data, content_type="audio/flac")


@register_seeder(order=40)
def seed_punches(world: DemoWorld) -> None:
    people = world.people
    birds: Channel = world.things["channel:Early birds"]
    songs: Channel = world.things["channel:Songs I loop"]
    chime = post_create_song(
        author=people["lofi_loop"],
        channel=songs,
        title="Morning chime",
        artist="same",
        text="Made for the early birds.",
        audio=_chime(),
    )
    playlist_add(channel=birds, by=people["early_bird"], song_post=chime)
    now = timezone.now()
    for days_ago in range(6, 0, -1):
        for name, minutes in [("early_bird", 5 * 60 + 40), ("sunflower", 6 * 60 + 55)]:
            person = people[name]
            local_midnight = (
                (now - timedelta(days=days_ago))
                .astimezone(ZoneInfo(person.timezone))
                .replace(hour=0, minute=0, second=0)
            )
            punch_in(user=person, channel=birds, now=local_midnight + timedelta(minutes=minutes + days_ago * 3))
    for name, hours_ago in [("early_bird", 3), ("sunflower", 2)]:
        moment = now - timedelta(hours=hours_ago)
        if (
            moment.astimezone(ZoneInfo(people[name].timezone)).date()
            == now.astimezone(ZoneInfo(people[name].timezone)).date()
        ):
            punch_in(user=people[name], channel=birds, note="Up!" if name == "sunflower" else "", now=moment)
