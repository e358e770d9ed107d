from django.urls import path

from . import views

app_name = "interests"

urlpatterns = [
    path("explore", views.explore, name="explore"),
    path("channels/new", views.channel_new, name="channel_new"),
    path("c/<str:public_id>", views.channel, name="channel"),
    path("c/<str:public_id>/join", views.join, name="join"),
    path("c/<str:public_id>/settings", views.channel_settings, name="settings"),
]
