"""A task worker killed (SIGKILL) in the middle of a sticker's transcription; orphaned files cleaned up.

Ensure that the task the dead worker left RUNNING is queued again by the next worker, runs again and
finishes (the sticker gets its caption); and that the clean-up removes files no row points at once they
are older than the grace period, and nothing else."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from core.orphans import orphans_remove, stored_names
from core.task_rescue import tasks_rescue
from stickers import services
from stickers.models import Sticker, StickerStatus
from tests.factories import make_user
from tests.samples import png, voice_webm

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _own_media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(backend: str, marker: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "same.settings",
        "DATABASE_URL": _database_url(),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "SPEECH_BACKEND": backend,
        "FAULT_MARKER": str(marker),
        "SAME_VAR_DIR": str(marker.parent),
        "SECRET_KEY": "worker-fault-" + "k" * 40,
    }
    for name in ("SAME_TESTING", "REDIS_URL"):
        env.pop(name, None)
    with log.open("ab") as sink:
        return subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.2", "--no-startup-delay"],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=sink,
        )


def _until(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_transcription_killed_with_its_worker_runs_again_and_finishes(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (the CI's second pass): the worker processes share the test database")
    owner = make_user(username="voice")
    sticker = services.sticker_create(
        owner=owner, image=png((200, 200)), audio=SimpleUploadedFile("v.webm", voice_webm(1.0), "audio/webm")
    )
    assert sticker.status == StickerStatus.PROCESSING
    result = DBTaskResult.objects.get()
    marker, log = tmp_path / "started", tmp_path / "worker.log"

    first = _worker("tests.fault_speech.StallingBackend", marker, log)
    try:
        _until(marker.exists, 60, "the first worker to start transcribing")
        result.refresh_from_db()
        assert result.status == TaskResultStatus.RUNNING
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    result.refresh_from_db()
    assert result.status == TaskResultStatus.RUNNING, "left running by the dead worker"
    assert Sticker.objects.get(pk=sticker.pk).status == StickerStatus.PROCESSING

    second = _worker("tests.fault_speech.FixedBackend", marker, log)
    try:
        _until(lambda: DBTaskResult.objects.get(pk=result.pk).status == TaskResultStatus.SUCCESSFUL, 60, "the rerun")
    finally:
        second.terminate()
        second.wait(timeout=20)
    result.refresh_from_db()
    assert len(result.worker_ids) == 2, "claimed by the dead worker, then by the one that rescued it"
    finished = Sticker.objects.get(pk=sticker.pk)
    assert (finished.status, finished.transcript, finished.caption) == (
        StickerStatus.READY,
        "hello from the rescue",
        "hello from the rescue",
    )
    assert "re-queued task" in log.read_text()

    # The clean-up: after the kill and the rerun, every stored file belongs to the sticker.
    orphans_remove(grace=timedelta(0))
    assert set(stored_names(default_storage)) == {finished.image, finished.base, finished.audio}
    for name in (finished.image, finished.base, finished.audio):
        assert default_storage.exists(name)


def test_a_running_task_whose_worker_is_alive_is_left_alone_and_one_running_too_long_elsewhere_is_requeued():
    sticker = services.sticker_create(
        owner=make_user(), image=png((200, 200)), audio=SimpleUploadedFile("v.webm", voice_webm(1.0), "audio/webm")
    )
    assert sticker.status == StickerStatus.PROCESSING
    result = DBTaskResult.objects.get()
    from core.task_rescue import worker_name

    result.claim(worker_name())  # this very process: alive
    assert tasks_rescue() == []
    result.claim("another-host:123:abcdefgh")
    assert tasks_rescue() == []  # elsewhere, and not running for long
    assert result.started_at is not None
    DBTaskResult.objects.filter(pk=result.pk).update(started_at=result.started_at - timedelta(hours=1))
    assert tasks_rescue() == [str(result.id)]
    result.refresh_from_db()
    assert result.status == TaskResultStatus.READY


def test_the_cleanup_removes_old_files_no_row_points_at_and_keeps_young_ones_and_referenced_ones():
    sticker = services.sticker_create(owner=make_user(), image=png((200, 200)))
    left_by_a_kill = default_storage.save("stickers/left-by-a-kill.webp", ContentFile(b"half"))
    being_written = default_storage.save("posts/being-written.jpg", ContentFile(b"row not yet committed"))
    old = time.time() - 7 * 3600
    for name in (left_by_a_kill, *([sticker.image, sticker.base])):
        os.utime(default_storage.path(name), (old, old))

    removed = orphans_remove()  # grace: 6 hours

    assert removed == [left_by_a_kill]
    assert not default_storage.exists(left_by_a_kill)
    assert default_storage.exists(being_written)
    assert default_storage.exists(sticker.image)
    assert default_storage.exists(sticker.base)
    default_storage.delete(being_written)
