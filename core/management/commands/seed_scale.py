from typing import Any, TextIO, cast

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.scale_data import SEED_PASSWORD, Sizes, seed_scale, tables_empty


class Command(BaseCommand):
    help = (
        "Fill an empty database with a benchmark dataset: at --scale 1, 100k people, 10k channels of every kind, "
        "1M posts, 5M same, 1M punches, 1M chat messages (PostgreSQL COPY; batched inserts on SQLite)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", type=float, default=1.0, help="1 = a million posts; 0.01 = ten thousand")
        parser.add_argument("--seed", type=int, default=20261126, help="the dataset is the same for the same seed")
        parser.add_argument("--reset", action="store_true", help="empty every table first (manage.py flush)")

    def handle(self, *args: Any, **options: Any) -> None:
        scale = options["scale"]
        if not 0 < scale <= 10:
            raise CommandError("--scale must be above 0 and at most 10.")
        if options["reset"]:
            call_command("flush", interactive=False, verbosity=0)
        elif not tables_empty():
            raise CommandError("The database holds people, channels or posts already: pass --reset to empty it.")
        self.stdout.write(f"Seeding {Sizes.at(scale)}")
        report = seed_scale(
            scale, seed=options["seed"], stream=cast(TextIO, self.stdout._out)
        )  # the raw stream: the bar rewrites its line
        self.stdout.write(f"  counters, sequences, analyze  {report.seconds['counters, sequences, analyze']:.1f} s")
        self.stdout.write(
            f"Seeded in {report.seconds['total']:.1f} s. People log in with the password '{SEED_PASSWORD}'"
            f" (e.g. '{report.viewer}')."
        )
