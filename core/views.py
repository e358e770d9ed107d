"""The shell's pages that belong to no single feature."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from core.http import HtmxHttpRequest
from posts.views import home as home_feed


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "core/welcome.html")
    return home_feed(request)


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


# Crawlers may read the public pages (the welcome, sign-up); the API and the operator's admin are not for them.
# Everything else needs an account, which a crawler has not got.
ROBOTS = "User-agent: *\nDisallow: /api/\nDisallow: /admin/\nDisallow: /ops/\n"


@require_GET
def robots(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ROBOTS, content_type="text/plain; charset=utf-8")


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on their own (an image opened alone, for one): point them at the logo."""
    return redirect(static("img/logo.svg"), permanent=True)
