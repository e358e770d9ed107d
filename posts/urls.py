from django.urls import path

from . import views

app_name = "posts"

urlpatterns = [
    path("c/<str:channel_id>/post", views.create, name="create"),
    path("p/<str:public_id>", views.detail, name="detail"),
    path("p/<str:public_id>/same", views.same, name="same"),
    path("p/<str:public_id>/delete", views.delete, name="delete"),
    path("p/<str:public_id>/vote", views.vote, name="vote"),
]
