"""The NUL character (U+0000) in what a request sends: refused where it arrives, never taken to the database.

PostgreSQL can't hold it in text, so a lookup or a write with one fails inside the database — a 500 where
the person deserves a clear refusal. Django's forms refuse it in their fields already
(`ProhibitNullCharactersValidator`); this covers what forms don't read: the address (nothing's address holds
one: 404), the query string (the API: 400, the fields named; a page: the NULs dropped, as a page ignores any
value it can't use) and the API's JSON bodies (400, the fields named); `api.bodies.read_body` does the same for
the API's form bodies."""

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.utils.translation import gettext as _

NUL = "\x00"
API_PREFIX = "/api/"


def message() -> str:
    # Django's own words for it (its catalogs translate them): what a form says about the same field.
    return _("Null characters are not allowed.")


def nul_paths(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where in `value` (JSON-shaped: dicts, lists, strings) a string or a key holds a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                yield (*path, str(key))
            else:
                yield from nul_paths(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_paths(item, (*path, index))


def query_fields(request: HttpRequest) -> list[str]:
    """The query string's fields whose name or value holds a NUL."""
    if NUL not in request.META.get("QUERY_STRING", "") and "%00" not in request.META.get("QUERY_STRING", ""):
        return []  # the common case costs one look at the raw string
    return [key for key, values in request.GET.lists() if NUL in key or any(NUL in value for value in values)]


def json_fields(request: HttpRequest) -> list[str]:
    """The fields of an API request's JSON body whose text holds a NUL (as `a.b.0` for nested ones)."""
    if request.content_type != "application/json":
        return []
    length = request.META.get("CONTENT_LENGTH") or "0"
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if not length.isdigit() or (limit is not None and int(length) > limit):
        return []  # the view refuses it as too large, with its own error
    if b"\\u0000" not in request.body:
        return []  # raw control bytes are not JSON: only an escape can put a NUL in a string
    try:
        data = json.loads(request.body)
    except ValueError:
        return []  # the view says it is not JSON
    return [".".join(str(part) for part in path) or "body" for path in nul_paths(data)]


def _without_nul(query: QueryDict) -> QueryDict:
    clean = QueryDict(mutable=True)
    for key, values in query.lists():
        clean.setlist(key.replace(NUL, ""), [value.replace(NUL, "") for value in values])
    clean._mutable = False
    return clean


class NulCharacterMiddleware:
    """An address with a NUL is not found; an API query string or JSON body with one is a bad request (the
    `{code, message, fields}` error with the fields named); a page's query string loses its NULs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        api = request.path.startswith(API_PREFIX)
        if NUL in request.path:
            if api:
                return JsonResponse({"code": "not_found", "message": _("Not found."), "fields": {}}, status=404)
            raise Http404
        fields = query_fields(request)
        if fields and not api:
            # A page reads its query string as hints (a search, a cursor): the NULs are dropped and the page
            # answers as it would without them, as it does for any other value it can't use.
            request.GET = _without_nul(request.GET)  # type: ignore[assignment]  # immutable, as Django makes it
            fields = []
        if api:
            fields += json_fields(request)
        if fields:
            body = {"code": "invalid", "message": _("Some fields need another look."), "fields": {}}
            body["fields"] = {name.replace(NUL, "") or "body": [message()] for name in fields}
            return JsonResponse(body, status=400)
        return self.get_response(request)
