from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("chats", views.chats, name="chats"),
    path("healthz", views.health, name="health"),
    path("favicon.ico", RedirectView.as_view(url=static("img/logo.svg"), permanent=True)),
]
