"""The installable app: its manifest, its service worker and the page the worker shows offline.

The worker caches the app shell only: the offline page and the static files (CSS, JS, icons, fonts),
public to everyone. Pages, the API, media and the socket always go to the network: nothing personal is
ever written to a phone's cache (docs/pwa.md).
"""

import hashlib
import json
import re
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import engines
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

# Static files of the framework's own pages (the admin, the API's docs) are not part of the app shell.
NOT_SHELL = ("admin/", "ninja/", "django_htmx/")
THEME_COLOUR = "#f6f3ee"  # --bg in same.css, light; the dark one is #17161a
ICONS = [
    {"src": "icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
    {"src": "icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
    {"src": "icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
]


def _own_static_files() -> list[tuple[str, Path]]:
    """(name, file) for every static file of the project itself, plus the htmx build the pages load."""
    found: dict[str, Path] = {}
    for finder in finders.get_finders():
        for name, storage in finder.list(["CVS", ".*", "*~"]):
            if name.startswith(NOT_SHELL) or name in found:
                continue
            found[name] = Path(storage.path(name))
    for name in _htmx_files():
        if (path := finders.find(name)) is not None:
            found[name] = Path(str(path))
    return sorted(found.items())


def _htmx_files() -> list[str]:
    """The script files `{% htmx_script %}` puts in every page (one build in production, two with DEBUG)."""
    tag = engines["django"].from_string("{% load django_htmx %}{% htmx_script %}").render({})
    prefix = settings.STATIC_URL
    names = []
    for src in re.findall(r'src="([^"]+)"', tag):
        name = src.removeprefix(prefix)
        names.append(_unhashed(name))
    return names


def _unhashed(url_name: str) -> str:
    """`django_htmx/htmx-2.min.1a2b3c.js` → `django_htmx/htmx-2.min.js` (the manifest storage's hashed names)."""
    hashed_files: dict[str, str] = getattr(staticfiles_storage, "hashed_files", {})
    hashed_to_name = {hashed: name for name, hashed in hashed_files.items()}
    return hashed_to_name.get(url_name, url_name)


@cache
def shell() -> tuple[str, list[str]]:
    """The cache's version and the URLs to precache: decided by the deploy, worked out once per process.

    The version digests every file's URL and contents, so a release that changes any static file (or the
    offline page's template) gets a new cache, and the phone a new worker with the update bar.
    """
    digest = hashlib.sha256()
    urls = []
    for name, path in _own_static_files():
        url = static(name)
        urls.append(url)
        digest.update(url.encode())
        digest.update(path.read_bytes())
    offline_template = Path(settings.BASE_DIR) / "templates" / "core" / "offline.html"
    digest.update(offline_template.read_bytes())
    return digest.hexdigest()[:16], urls


def shell_version() -> str:
    override: str | None = getattr(settings, "PWA_VERSION", None)
    return override or shell()[0]


@require_GET
@cache_control(no_cache=True, max_age=0)
def service_worker(request: HttpRequest) -> HttpResponse:
    """/sw.js, at the root so its scope is the whole site. Never cached long: a browser checks it for updates."""
    _version, precache = shell()
    config = {
        "version": shell_version(),
        "offline": reverse("core:offline"),
        "precache": precache,
        "static": settings.STATIC_URL,
    }
    body = render_to_string("core/sw.js", {"config": json.dumps(config)})
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def manifest(request: HttpRequest) -> JsonResponse:
    """The web app manifest: opens full screen from the home screen, in the page's own colours."""
    data = {
        "id": "/",
        "name": "same",
        "short_name": "same",
        "description": _("Say what you feel. Find who feels the same."),
        "lang": get_language(),
        "start_url": "/?source=home-screen",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": THEME_COLOUR,
        "categories": ["social"],
        "icons": [{**icon, "src": static(icon["src"])} for icon in ICONS],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json"
    response["Vary"] = "Accept-Language, Cookie"
    return response


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    """What the worker shows when a page can't be reached. Nothing of the person in it: it is cached."""
    return render(request, "core/offline.html")
