"""The media disk fills up during an upload.

Ensure that a photo that does not fit is refused with a clear error (the API's `storage_full`, 507; a form
error on the web), that no post row is written and no file is left behind (neither the half-written photo
nor the thumbnail stored before it), and that the same upload goes through once there is room.

The media root is a 2 MB tmpfs when this process may mount one (root); otherwise the disk is simulated by
making writes fail with ENOSPC once the room is used up, and the test says so in its output."""

import errno
import io
import os
import random
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.services import token_issue
from posts.models import Post
from tests.factories import PASSWORD, make_channel, make_user

pytestmark = pytest.mark.django_db

ROOM = 400 * 1024  # bytes left on the disk: the thumbnail (~180 KB) fits, the photo (~1.3 MB) does not


def _noisy_jpeg(side: int = 1400) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes("RGB", (side, side), bytes(rng.getrandbits(8) for _ in range(side * side * 3)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def small_disk(tmp_path, settings, monkeypatch):
    root = tmp_path / "media"
    root.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(root)]
    simulate = bool(os.environ.get("FAULT_SIMULATE_DISK"))  # to run the fallback where mounting works
    mounted = not simulate and subprocess.run(mount, capture_output=True, check=False).returncode == 0
    settings.MEDIA_ROOT = root
    if mounted:
        free = os.statvfs(root).f_bavail * os.statvfs(root).f_frsize
        (root / "filler").write_bytes(b"\0" * (free - ROOM))
    else:
        print("tmpfs could not be mounted here: simulating a full disk (ENOSPC after the room is used)")  # noqa: T201
        (root / "filler").write_bytes(b"")  # stands for the full disk: while it is there, only ROOM is left
        real_fdopen = os.fdopen

        class Limited:
            def __init__(self, handle):
                self.handle = handle

            def write(self, chunk):
                self.handle.flush()
                used = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
                room = (ROOM if (root / "filler").exists() else 10 * ROOM) - used
                if len(chunk) > room:
                    self.handle.write(chunk[: max(0, room)])
                    raise OSError(errno.ENOSPC, "No space left on device")
                return self.handle.write(chunk)

            def __getattr__(self, name):
                return getattr(self.handle, name)

        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Limited(real_fdopen(fd, *a, **k)))
    yield root
    if mounted:
        subprocess.run(["umount", str(root)], check=True)


def _photo() -> SimpleUploadedFile:
    return SimpleUploadedFile("big.jpg", _noisy_jpeg(), content_type="image/jpeg")


def test_the_api_refuses_a_photo_that_does_not_fit_and_leaves_no_row_and_no_file(client, small_disk, caplog):
    author = make_user(username="snap")
    channel = make_channel(host=author, kind="image", name="Snaps")
    token = token_issue(login="snap", password=PASSWORD, client_ip="x").secret
    before_files, before_posts = _files(small_disk), Post.objects.count()

    answer = client.post(
        f"/api/v1/channels/{channel.public_id}/posts",
        {"images": _photo(), "text": "too big"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert answer.status_code == 507
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("media storage full")]
    assert len(refused) == 1
    assert "-thumb" not in refused[0], "the thumbnail was stored first, then the photo did not fit"
    assert answer.json()["code"] == "storage_full"
    assert "Nothing was saved" in answer.json()["message"]
    assert Post.objects.count() == before_posts
    assert _files(small_disk) == before_files == {"filler"}

    (small_disk / "filler").unlink()
    answer = client.post(
        f"/api/v1/channels/{channel.public_id}/posts",
        {"images": _photo(), "text": "fits now"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201
    assert len(_files(small_disk)) == 2  # the photo and its thumbnail


def test_the_web_form_says_the_photo_could_not_be_stored_and_writes_nothing(client, small_disk):
    author = make_user(username="snap")
    channel = make_channel(host=author, kind="image", name="Snaps")
    client.force_login(author)
    before_posts = Post.objects.count()

    page = client.post(f"/c/{channel.public_id}/post", {"images": _photo(), "text": "too big"})

    assert page.status_code == 400
    assert "There is no room to store this file right now" in page.content.decode()
    assert Post.objects.count() == before_posts
    assert _files(small_disk) == {"filler"}
