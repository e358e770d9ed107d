"""django-tasks-db's worker, which also re-queues the tasks a dead worker left running (core/task_rescue.py).

Same options; `--worker-id` defaults to `host:pid:random` so that a worker on the same host can tell that
one is gone. This command replaces the library's because `core` comes before `django_tasks_db` in
INSTALLED_APPS."""

import logging
import threading
from argparse import ArgumentParser
from typing import Any

from django.db import close_old_connections, connection
from django_tasks_db.management.commands import db_worker

from core.task_rescue import RESCUE_EVERY, tasks_rescue, worker_name

logger = logging.getLogger(__name__)


def _rescue_now() -> None:
    try:
        tasks_rescue()
    finally:
        close_old_connections()


def _rescue_forever(stop: threading.Event) -> None:
    while not stop.wait(RESCUE_EVERY):
        try:
            _rescue_now()
        except Exception:  # the next round tries again; the worker keeps running tasks
            logger.exception("rescuing tasks left running failed")
        finally:
            connection.close()


class Command(db_worker.Command):
    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.set_defaults(worker_id=worker_name())

    def handle(self, *args: Any, **options: Any) -> None:
        _rescue_now()
        stop = threading.Event()
        rescuer = threading.Thread(target=_rescue_forever, args=(stop,), name="task-rescue", daemon=True)
        rescuer.start()
        try:
            super().handle(*args, **options)
        finally:
            stop.set()
