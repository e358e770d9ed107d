from django.conf import settings
from django.contrib import admin
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path
from django.views.static import serve

from api.api import api
from core.dashboard import dashboard
from core.files import is_private_media
from core.script_catalog import script_catalog

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="admin_dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    # set_language: a visitor who is not signed in picks a language (a cookie); the signed-in keep theirs in settings.
    path("i18n/", include("django.conf.urls.i18n")),
    # The scripts' strings, served from our own origin (the CSP allows no inline script): core/script_catalog.py.
    path("jsi18n/", script_catalog, name="javascript-catalog"),
    path("", include("accounts.urls")),
    path("", include("interests.urls")),
    path("", include("posts.urls")),
    path("", include("moderation.urls")),
    path("", include("punches.urls")),
    path("", include("chat.urls")),
    path("", include("stickers.urls")),
    path("", include("ads.urls")),
    path("", include("recommendations.urls")),
    path("", include("core.urls")),
]


def public_media(request: HttpRequest, path: str) -> HttpResponse | FileResponse:
    """Uploaded media for the embedded default, except private files: those only come through their views."""
    if is_private_media(path):
        raise Http404("No such file.")
    return serve(request, path, document_root=str(settings.MEDIA_ROOT))


if settings.DEBUG or not settings.PRODUCTION:
    # The embedded default serves uploaded media itself; production puts them behind the proxy or a bucket.
    urlpatterns.append(path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", public_media))

handler500 = "core.unavailable.server_error"  # a database outage answers 503, anything else Django's 500
