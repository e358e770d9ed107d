from django.urls import path

from . import views

app_name = "ads"

urlpatterns = [
    path("ads/c/<str:public_id>", views.click, name="click"),
    path("ads/dismiss", views.dismiss, name="dismiss"),
]
