from django.urls import path

from . import views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("chats", views.chats, name="chats"),
    path("healthz", views.health, name="health"),
]
