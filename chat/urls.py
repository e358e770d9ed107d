from django.urls import path

from . import group_views, views

app_name = "chat"

urlpatterns = [
    path("chats", views.chats, name="chats"),
    path("chats/badge", views.badge, name="badge"),
    path("chats/new-group", group_views.new_group, name="new_group"),
    path("chats/<str:conversation_id>", views.conversation, name="conversation"),
    path("chats/<str:conversation_id>/send", views.send, name="send"),
    path("chats/<str:conversation_id>/older", views.older, name="older"),
    path("chats/<str:conversation_id>/answer", views.answer, name="answer"),
    path("chats/<str:conversation_id>/block", views.block, name="block"),
    path("chats/<str:conversation_id>/report", views.report, name="report"),
    path("chats/<str:conversation_id>/members", group_views.members, name="members"),
    path("chats/<str:conversation_id>/manage", group_views.manage, name="manage"),
    path("chats/<str:conversation_id>/m/<str:message_id>/<str:part>", views.attachment, name="attachment"),
    path("join/<str:code>", group_views.join, name="join"),
    path("c/<str:channel_id>/group-chat", group_views.channel_group, name="channel_group"),
    path("c/<str:channel_id>/group-chat/button", group_views.channel_group_button, name="channel_group_button"),
    path("blocks/<str:username>/remove", views.unblock, name="unblock"),
    path("p/<str:post_id>/talk", views.talk, name="talk"),
    path("p/<str:post_id>/forward", views.forward, name="forward"),
    path("p/<str:post_id>/block", views.block_author, name="block_author"),
]
