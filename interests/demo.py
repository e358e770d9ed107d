from core.demo import DemoWorld, register_seeder

from .models import ChannelKind
from .services import channel_create, channel_join

DEMO_CHANNELS = [
    # name, kind, category, description, rule, host, members
    (
        "Insomnia",
        ChannelKind.TEXT,
        "moods",
        "Awake at 3 a.m.? You're not the only one.",
        "Night thoughts, kindly said.",
        "night_owl",
        ["demo", "小雨", "lofi_loop"],
    ),
    ("失眠的人", ChannelKind.TEXT, "moods", "睡不着的时候，来这里说说话。", "温柔地说话。", "小雨", ["night_owl"]),
    (
        "Show me your shoes",
        ChannelKind.IMAGE,
        "life",
        "The shoes you walked in today.",
        "Photos of shoes, yours.",
        "sunflower",
        ["demo"],
    ),
    (
        "Songs I loop",
        ChannelKind.MUSIC,
        "music",
        "The one song you can't stop playing.",
        "One song per post, and why.",
        "lofi_loop",
        ["demo", "night_owl"],
    ),
    (
        "Films that stayed",
        ChannelKind.MOVIE,
        "film",
        "Films you still think about.",
        "A film, a rating, a few honest words.",
        "demo",
        ["sunflower"],
    ),
    (
        "Cats or dogs",
        ChannelKind.VOTE,
        "pets",
        "Small questions, settled by vote.",
        "Questions with 2–10 answers.",
        "sunflower",
        ["demo", "early_bird"],
    ),
    (
        "Early birds",
        ChannelKind.PUNCH,
        "rituals",
        "Punch in when you're up. Hear a song.",
        "Up before 9? Punch in.",
        "early_bird",
        ["demo", "sunflower"],
    ),
]


@register_seeder(order=20)
def seed_channels(world: DemoWorld) -> None:
    for name, kind, category, description, rule, host, members in DEMO_CHANNELS:
        channel = channel_create(
            host=world.people[host], name=name, description=description, rule=rule, kind=kind, category=category
        )
        for member in members:
            channel_join(user=world.people[member], channel=channel)
        world.things[f"channel:{name}"] = channel
