"""The admin, hidden from people who may not use it: a signed-in person without staff rights gets 404, not the
admin's login form (which would tell them where the operators work). Signed-out visitors still get the form."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import Http404, HttpRequest, HttpResponse

View = TypeVar("View", bound=Callable[..., Any])


class SameAdminSite(admin.AdminSite):
    def admin_view(self, view: View, cacheable: bool = False) -> View:
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and not self.has_permission(request):
                raise Http404("No such page.")
            response: HttpResponse = inner(request, *args, **kwargs)
            return response

        return cast(View, guarded)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.user.is_authenticated and not self.has_permission(request):
            raise Http404("No such page.")
        return super().login(request, extra_context)


class SameAdminConfig(AdminConfig):
    default_site = "core.admin_site.SameAdminSite"
