"""Refusals of uploaded media, and the size checks every upload starts with."""

from typing import IO

from django.utils.translation import gettext as _

_READ_CHUNK = 1024 * 1024


class MediaError(Exception):
    """An upload we refuse: `code` is stable for programs, `message` is for the person who sent it."""

    def __init__(self, code: str, message: str) -> None:
        # Both go to Exception's args so the error pickles, as it must to cross a task queue.
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def read_within(source: bytes | IO[bytes], *, max_bytes: int, noun: str) -> bytes:
    """The upload's bytes, refused when empty or larger than `max_bytes` (a stream is read no further than that)."""
    data = source if isinstance(source, bytes) else _read_at_most(source, max_bytes + 1)
    if not data:
        raise MediaError("empty_file", _("This %(noun)s is empty.") % {"noun": noun})
    if len(data) > max_bytes:
        raise MediaError(
            "file_too_large",
            _("This %(noun)s is too large: the limit is %(size)s.") % {"noun": noun, "size": _megabytes(max_bytes)},
        )
    return data


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    # A single read() may return less than asked (pipes, sockets), so keep reading until the limit or the end.
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = stream.read(min(remaining, _READ_CHUNK))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def one_of(names: list[str]) -> str:
    """'JPEG, PNG or WebP', in the reader's language."""
    if len(names) < 2:
        return "".join(names)
    return _("%(some)s or %(last)s") % {"some": _(", ").join(names[:-1]), "last": names[-1]}
