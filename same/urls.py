from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.static import serve

from api.api import api
from core.dashboard import dashboard

urlpatterns: list[URLPattern | URLResolver] = [
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="admin_dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
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

if settings.DEBUG or not settings.PRODUCTION:
    # The embedded default serves uploaded media itself; production puts them behind the proxy or a bucket.
    urlpatterns.append(
        path(f"{settings.MEDIA_URL.strip('/')}/<path:path>", serve, {"document_root": settings.MEDIA_ROOT})
    )

handler500 = "core.unavailable.server_error"  # a database outage answers 503, anything else Django's 500
