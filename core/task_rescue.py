"""Tasks left RUNNING by a worker that died (kill -9, out of memory, a lost machine) run again.

django-tasks-db marks a task RUNNING when a worker claims it and never looks at it again: a worker that dies
mid-task leaves it RUNNING for ever. Our `db_worker` (core/management/commands/db_worker.py) names itself
`host:pid:random` and re-queues, when it starts and every RESCUE_EVERY seconds, every RUNNING task whose
worker was on this host and is no longer alive, and any whose worker is elsewhere once it has been running
for longer than settings.TASKS_RUNNING_TIMEOUT. Tasks must therefore be idempotent: a rescued task runs
from the start again (the speech task reads the clip and writes the caption, nothing else).
"""

import logging
import os
import socket
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.tasks import TaskResultStatus
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.models import DBTaskResult

logger = logging.getLogger(__name__)

RESCUE_EVERY = 60.0  # seconds


def worker_name() -> str:
    """This worker's id: where it runs, so another worker on the same host can tell whether it is alive."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{get_random_string(8)}"


def _dead_here(worker_id: str) -> bool:
    host, _sep, rest = worker_id.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def tasks_rescue(*, timeout: timedelta | None = None) -> list[str]:
    """Re-queue the tasks whose worker died; return their ids."""
    limit = timeout if timeout is not None else timedelta(seconds=settings.TASKS_RUNNING_TIMEOUT)
    too_old = timezone.now() - limit
    rescued: list[str] = []
    with transaction.atomic():
        for result in DBTaskResult.objects.running().select_for_update(skip_locked=True):
            last_worker = result.worker_ids[-1] if result.worker_ids else ""
            here_and_dead = _dead_here(last_worker)
            if here_and_dead or (result.started_at is not None and result.started_at < too_old):
                result.status = TaskResultStatus.READY
                result.save(update_fields=["status"])
                rescued.append(str(result.id))
                logger.warning(
                    "re-queued task %s (%s), left running by worker %s (%s)",
                    result.id,
                    result.task_path,
                    last_worker,
                    "gone" if here_and_dead else f"running since {result.started_at:%H:%M:%S}",
                )
    return rescued
