from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.translations import catalogs, compile_all


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po to .mo with polib (no gettext needed); --check only compares."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--check", action="store_true", help="Fail if a committed .mo differs from its .po.")

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        if check:
            stale = [c for c in catalogs() if not c.mo.exists() or c.mo.read_bytes() != c.compiled()]
            if stale:
                raise CommandError("Out of date: " + ", ".join(str(c.mo) for c in stale))
            self.stdout.write("Every .mo matches its .po.")
            return
        for catalog in compile_all():
            self.stdout.write(f"Compiled {catalog.mo}")
