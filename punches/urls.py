from django.urls import path

from . import views

app_name = "punches"

urlpatterns = [
    path("c/<str:public_id>/punch", views.punch, name="punch"),
    path("c/<str:public_id>/records", views.records, name="records"),
    path("c/<str:public_id>/clock", views.clock, name="clock"),
    path("c/<str:public_id>/playlist/<str:post_id>", views.playlist_toggle, name="playlist"),
]
