from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from core.demo import DEMO_PASSWORD, seed


class Command(BaseCommand):
    help = "Fill an empty database with demo people and content."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--if-empty", action="store_true", help="Do nothing if anyone has signed up.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and get_user_model().objects.exists():
            self.stdout.write("Demo data: the database already has people; leaving it as it is.")
            return
        with transaction.atomic():
            world = seed()
        self.stdout.write(
            f"Demo data: {len(world.people)} people. Log in as 'demo' with the password '{DEMO_PASSWORD}'."
        )
