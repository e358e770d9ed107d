"""Serve HTTP and WebSocket with uvicorn, with a task worker alongside: the embedded default's one command."""

import signal
import subprocess
import sys
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from core.ws_protocol import SharedFrameProtocol


class Command(BaseCommand):
    help = "Run the ASGI server (uvicorn) and a django-tasks-db worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-worker", action="store_true", help="Don't start a task worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        worker = None
        if not options["no_worker"]:
            worker = subprocess.Popen(  # noqa: S603  (our own manage.py, no shell)
                [sys.executable, str(settings.BASE_DIR / "manage.py"), "db_worker", "--interval", "0.5"]
            )
        self.stdout.write(f"same is at http://{options['host']}:{options['port']}/ (Ctrl+C stops it)")
        # uvicorn shuts down on SIGTERM (systemd, Docker, the benches), then raises the signal again with the
        # handler it found. Python's default for SIGTERM ends the process at once, skipping `finally`, which
        # left the worker running without its server; this handler turns it into an ordinary exit (status 0: the
        # stop was asked for and went cleanly).
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            uvicorn.run(
                "same.asgi:application",
                host=options["host"],
                port=options["port"],
                log_level="info",
                ws=SharedFrameProtocol,  # one compressed frame per event, whatever the number of sockets
            )
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)
