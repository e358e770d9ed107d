"""The scripts' strings (Django's JavaScript catalog at /jsi18n/), cached by browsers until they change.

Every page loads the catalog before its scripts (they read `gettext` as they start), so a catalog that is asked
for again on every page — even answered 304 — holds every page's scripts back by a round trip to the app. The
page asks for `?l=<language>&v=<version>`: the language decides the catalog (not the cookie or the account, so
the address alone says what it holds and any cache may keep it), and the version is a digest of the compiled
catalogs, so a new translation is a new address. An answer to the current version is cached for a year.
"""

import functools
import hashlib
from pathlib import Path

import django
from django.conf import settings
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.views.decorators.http import last_modified
from django.views.i18n import JavaScriptCatalog

YEAR = 365 * 24 * 60 * 60
_STARTED = timezone.now()
_catalog = last_modified(lambda request, **kwargs: _STARTED)(JavaScriptCatalog.as_view())


@functools.cache
def script_catalog_version() -> str:
    """A digest of every compiled script catalog (and of Django's, whose strings the catalog carries too)."""
    digest = hashlib.sha256(django.get_version().encode())
    for root in settings.LOCALE_PATHS:
        for compiled in sorted(Path(root).glob("*/LC_MESSAGES/djangojs.mo")):
            digest.update(compiled.read_bytes())
    return digest.hexdigest()[:12]


def script_catalog(request: HttpRequest) -> HttpResponseBase:
    language = request.GET.get("l", "")
    if language not in dict(settings.LANGUAGES):
        return _catalog(request)  # the language of the request, revalidated (304) after a restart
    with translation.override(language):
        response = _catalog(request)
    if request.GET.get("v") == script_catalog_version() and response.status_code == 200:
        patch_cache_control(response, public=True, max_age=YEAR, immutable=True)
    return response
