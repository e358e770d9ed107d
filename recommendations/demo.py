"""Demo: compute everyone's suggestions once the other seeders have made people, channels and posts."""

from core.demo import DemoWorld, register_seeder

from .recompute import recompute_everyone


@register_seeder(order=90)
def seed_recommendations(world: DemoWorld) -> None:
    recompute_everyone()
