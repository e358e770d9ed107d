"""Files under the media root that no row points at: left by a process killed between writing a file and
committing its row, or by a deletion whose clean-up never ran. Removed once older than a grace period, so
a file whose row is still being written is never touched.

A stored file is referenced by a FileField/ImageField of any model, or by one of the CharFields below that
hold storage names (chat and stickers keep their files' names as plain strings)."""

import logging
from collections.abc import Iterator
from datetime import timedelta

from django.apps import apps
from django.core.files.storage import Storage, default_storage
from django.db import models
from django.tasks import task
from django.utils import timezone

logger = logging.getLogger(__name__)

GRACE = timedelta(hours=6)

STORAGE_NAME_FIELDS = {
    "chat.Conversation": ("cover",),
    "chat.Message": ("audio", "image", "thumb"),
    "stickers.Sticker": ("image", "base", "audio"),
}


def referenced_names() -> set[str]:
    names: set[str] = set()
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.FileField)]
        fields += STORAGE_NAME_FIELDS.get(model._meta.label, ())
        for field in fields:
            names.update(n for n in model._default_manager.values_list(field, flat=True).iterator() if n)
    return names


def stored_names(storage: Storage, directory: str = "") -> Iterator[str]:
    subdirectories, files = storage.listdir(directory)
    for name in files:
        yield f"{directory}/{name}" if directory else name
    for sub in subdirectories:
        yield from stored_names(storage, f"{directory}/{sub}" if directory else sub)


def orphans_remove(*, grace: timedelta = GRACE, storage: Storage = default_storage) -> list[str]:
    """Remove files no row points at, older than `grace`; return their names."""
    cutoff = timezone.now() - grace
    # Names first, then the references: a file written after this listing is not a candidate, and one whose
    # row commits while we read is either referenced or younger than the grace period.
    candidates = list(stored_names(storage))
    referenced = referenced_names()
    removed = []
    for name in candidates:
        if name in referenced or storage.get_modified_time(name) >= cutoff:
            continue
        storage.delete(name)
        removed.append(name)
    if removed:
        logger.warning("removed %s orphaned files", len(removed))
    return removed


@task()
def remove_orphaned_files() -> int:
    """The clean-up as a background task (manage.py media_orphans_remove runs it from cron)."""
    return len(orphans_remove())
