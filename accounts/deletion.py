"""What must go, beyond rows, when an account is deleted.

Rows go by cascade. Files stay on storage unless someone removes them, so each feature that
stores a person's files registers a function here that deletes them (`register_file_cleanup`).
"""

from collections.abc import Callable

from .models import User

FileCleanup = Callable[[User], None]
_cleanups: list[FileCleanup] = []


def register_file_cleanup(cleanup: FileCleanup) -> FileCleanup:
    _cleanups.append(cleanup)
    return cleanup


def delete_files_of(user: User) -> None:
    for cleanup in _cleanups:
        cleanup(user)
