"""Recompute recommendations: everyone's (put this in cron, e.g. hourly), or one person's."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.models import User
from recommendations import recompute
from recommendations.tasks import recompute_everyone


class Command(BaseCommand):
    help = "Recompute the channel graph and everyone's suggestions (or --person NAME's only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--person", help="only this username, from the stored channel graph")
        parser.add_argument("--enqueue", action="store_true", help="hand it to the task worker instead")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["person"]:
            user = User.objects.filter(username__iexact=options["person"]).first()
            if user is None:
                raise CommandError(f"No person called {options['person']!r}.")
            recompute.recompute_person(user)
            self.stdout.write(f"Recomputed {user.username}'s suggestions.")
            return
        if options["enqueue"]:
            recompute_everyone.enqueue()
            self.stdout.write("Enqueued a full recompute.")
            return
        stats = recompute.recompute_everyone()
        self.stdout.write(
            f"Recomputed {stats.people} people's suggestions from {stats.signals} signals over "
            f"{stats.channels} channels in {stats.seconds:.1f}s "
            f"({stats.neighbour_rows} channel links, {stats.suggestion_rows} suggestions)."
        )
