"""Remove files under the media root that no row points at and that are older than the grace period
(core/orphans.py). Run it from cron, e.g. hourly."""

from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand

from core.orphans import GRACE, orphans_remove


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--grace-hours", type=float, default=GRACE.total_seconds() / 3600)

    def handle(self, *args: Any, grace_hours: float, **options: Any) -> None:
        removed = orphans_remove(grace=timedelta(hours=grace_hours))
        self.stdout.write(f"removed {len(removed)} orphaned files")
