from django.urls import path

from . import operator_views, views

app_name = "moderation"

urlpatterns = [
    path("p/<str:public_id>/report", views.report_post, name="report_post"),
    path("c/<str:public_id>/report", views.report_channel, name="report_channel"),
    path("p/<str:public_id>/pin", views.pin, name="pin"),
    path("p/<str:public_id>/remove", views.remove, name="remove"),
    path("ops/reports", operator_views.queue, name="ops_queue"),
    path("ops/reports/<str:kind>/<str:target_id>", operator_views.target, name="ops_target"),
]
