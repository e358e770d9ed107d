"""The shell's tabs. Channels, posts and chats fill them as those features land."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "core/welcome.html")
    return render(request, "core/home.html")


@require_GET
@login_required
def explore(request: HttpRequest) -> HttpResponse:
    return render(request, "core/explore.html")


@require_GET
@login_required
def chats(request: HttpRequest) -> HttpResponse:
    return render(request, "core/chats.html")


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")
