"""Serving a stored file to someone allowed to see it, with byte ranges (Safari won't play audio without them)."""

import mimetypes
import re
from typing import TYPE_CHECKING

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse

if TYPE_CHECKING:
    from accounts.models import User

# Storage folders whose files are served only through views that check who asks (chat files, sticker voices);
# the public media route and a production proxy must never serve them.
PRIVATE_MEDIA_PREFIXES = ("chat/", "sticker-voices/")

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def is_private_media(name: str) -> bool:
    return name.lstrip("/").startswith(PRIVATE_MEDIA_PREFIXES)


def file_viewer(request: HttpRequest) -> "User | None":
    """The person asking for a private file: the web UI's session, or an app's bearer token."""
    from accounts.services import token_authenticate

    if request.user.is_authenticated:
        return request.user
    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and secret:
        return token_authenticate(secret=secret.strip())
    return None


def private_file_response(request: HttpRequest, name: str) -> HttpResponse:
    """The whole file (200) or one requested range of it (206); a range past the end gets 416."""
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    size = default_storage.size(name)
    handle = default_storage.open(name, "rb")
    match = _RANGE.match(request.headers.get("Range", "").strip())
    response: HttpResponse
    if match and (match.group(1) or match.group(2)):
        first, last = match.groups()
        if first:
            start, end = int(first), min(int(last) if last else size - 1, size - 1)
        else:  # the last N bytes
            start, end = max(size - int(last), 0), size - 1
        if start >= size or start > end:
            handle.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            return response
        handle.seek(start)
        response = HttpResponse(handle.read(end - start + 1), status=206, content_type=content_type)
        handle.close()
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    else:
        # Chat files are small (a minute of voice, a 2048px photo): read at once, no sync iterator under ASGI.
        with handle:
            response = HttpResponse(handle.read(), content_type=content_type)
    response["Accept-Ranges"] = "bytes"
    # Only members may see it: no shared cache may keep it, the browser may.
    response["Cache-Control"] = "private, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
