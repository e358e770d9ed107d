from django.urls import path

from . import views

app_name = "recommendations"

urlpatterns = [
    path("discover", views.discover, name="discover"),
    path("recommendations/channels", views.for_you, name="for_you"),
    path("recommendations/not-interested", views.not_interested, name="not_interested"),
    path("recommendations/personalise", views.personalise, name="personalise"),
]
