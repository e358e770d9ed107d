"""Demo data for the embedded default, so a newcomer's first look shows a living app.

Each feature registers a seeder; `manage.py seed_demo` runs them in order. Seeders receive the
demo people made so far and may add to what later seeders see.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DEMO_PASSWORD = "same-demo-password"  # noqa: S105  (published in the README: demo accounts only)


@dataclass
class DemoWorld:
    people: dict[str, Any] = field(default_factory=dict)
    things: dict[str, Any] = field(default_factory=dict)


Seeder = Callable[[DemoWorld], None]
_seeders: list[tuple[int, Seeder]] = []


def register_seeder(order: int) -> Callable[[Seeder], Seeder]:
    def register(seeder: Seeder) -> Seeder:
        _seeders.append((order, seeder))
        return seeder

    return register


def seed(world: DemoWorld | None = None) -> DemoWorld:
    world = world or DemoWorld()
    for _order, seeder in sorted(_seeders, key=lambda item: item[0]):
        seeder(world)
    return world
