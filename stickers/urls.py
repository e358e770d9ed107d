from django.urls import path

from . import views

app_name = "stickers"

urlpatterns = [
    path("stickers", views.mine, name="mine"),
    path("stickers/new", views.new, name="new"),
    path("stickers/tray", views.tray, name="tray"),
    path("stickers/<str:sticker_id>", views.detail, name="detail"),
    path("stickers/<str:sticker_id>/arrange", views.arrange, name="arrange"),
    path("stickers/<str:sticker_id>/voice", views.voice, name="voice"),
]
