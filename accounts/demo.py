from core.demo import DEMO_PASSWORD, DemoWorld, register_seeder

from .models import User

DEMO_PEOPLE = [
    ("demo", "UTC", "en"),
    ("night_owl", "Europe/Berlin", "en"),
    ("early_bird", "America/New_York", "en"),
    ("小雨", "Asia/Shanghai", "zh-hans"),
    ("lofi_loop", "Asia/Tokyo", "en"),
    ("sunflower", "Europe/Lisbon", "en"),
]


@register_seeder(order=10)
def seed_people(world: DemoWorld) -> None:
    for index, (username, time_zone, language) in enumerate(DEMO_PEOPLE):
        user = User.objects.create_user(
            username=username,
            email=f"demo{index}@example.invalid",
            password=DEMO_PASSWORD,
            timezone=time_zone,
            language=language,
            email_verified=True,
        )
        world.people[username] = user
