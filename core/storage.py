"""Media storage: the local file system, and what happens when it is full.

Django's FileSystemStorage leaves a half-written file behind when a write fails (no space left, a quota),
and the files a request saved before it stay too (a photo's thumbnail is stored before the photo). Here a
full disk removes both and refuses with `storage_full` (507): the service's transaction then writes no row,
and the person reads that nothing was saved."""

import errno
import logging
import re
from contextvars import ContextVar
from typing import Any

from django.core.files.storage import FileSystemStorage
from django.utils.translation import gettext_lazy as _

from core.errors import ServiceError

logger = logging.getLogger(__name__)

FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}

# The names this request saved so far (set per request by core.middleware.ServiceErrorMiddleware).
saved_in_request: ContextVar[list[str] | None] = ContextVar("saved_in_request", default=None)


class StorageFull(ServiceError):
    status = 507

    def __init__(self) -> None:
        super().__init__(
            "storage_full", _("There is no room to store this file right now. Nothing was saved: try again later.")
        )


# A stored name whose URL is itself: letters, digits, _ - . in segments that don't start with a dot.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*")


class MediaStorage(FileSystemStorage):
    def url(self, name: str | None) -> str:
        """FileSystemStorage.url without quote() and urljoin() for the names uploads get (a list of 20
        photo cards asks for 40 URLs): base URL + name, which is what they return for such a name."""
        base = self.base_url
        if name and base.endswith("/") and _PLAIN_NAME.fullmatch(name):
            return base + name
        return super().url(name)

    def _save(self, name: str, content: Any) -> str:
        try:
            stored = super()._save(name, content)  # type: ignore[misc]  # Django's storage hook; django-stubs lacks it
        except OSError as error:
            if error.errno not in FULL:
                raise
            # O_EXCL: a file at `name` was created by this very write.
            earlier = saved_in_request.get() or []
            for leftover in [name, *earlier]:
                try:
                    self.delete(leftover)
                except OSError:
                    logger.warning("could not remove %s after a full disk", leftover)
            earlier.clear()
            logger.error("media storage full: refused %s (%s)", name, error)
            raise StorageFull() from None
        saved = saved_in_request.get()
        if saved is not None:
            saved.append(stored)
        return str(stored)
