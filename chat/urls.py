from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("chats", views.chats, name="chats"),
    path("chats/badge", views.badge, name="badge"),
    path("chats/<str:conversation_id>", views.conversation, name="conversation"),
    path("chats/<str:conversation_id>/send", views.send, name="send"),
    path("chats/<str:conversation_id>/answer", views.answer, name="answer"),
    path("chats/<str:conversation_id>/block", views.block, name="block"),
    path("blocks/<str:username>/remove", views.unblock, name="unblock"),
    path("p/<str:post_id>/talk", views.talk, name="talk"),
]
