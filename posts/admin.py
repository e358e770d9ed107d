from django.contrib import admin

from .models import Ballot, Movie, Poll, PollOption, Post, PostImage, Same, Song


class PostImageInline(admin.TabularInline[PostImage, Post]):
    model = PostImage
    extra = 0
    readonly_fields = ("image", "thumb", "width", "height")


@admin.register(Post)
class PostAdmin(admin.ModelAdmin[Post]):
    list_display = ("public_id", "kind", "channel", "author", "same_count", "created_at", "removed_at")
    list_filter = ("kind", ("removed_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("public_id", "text", "author__username", "channel__name")
    readonly_fields = ("public_id", "same_count", "created_at")
    raw_id_fields = ("author", "channel")
    date_hierarchy = "created_at"
    inlines = [PostImageInline]


@admin.register(Same)
class SameAdmin(admin.ModelAdmin[Same]):
    list_display = ("user", "post", "created_at")
    search_fields = ("user__username", "post__public_id")
    raw_id_fields = ("user", "post")


@admin.register(Song)
class SongAdmin(admin.ModelAdmin[Song]):
    list_display = ("title", "artist", "post")
    search_fields = ("title", "artist")
    raw_id_fields = ("post",)


@admin.register(Movie)
class MovieAdmin(admin.ModelAdmin[Movie]):
    list_display = ("title", "year", "rating", "post")
    search_fields = ("title",)
    raw_id_fields = ("post",)


class PollOptionInline(admin.TabularInline[PollOption, Poll]):
    model = PollOption
    extra = 0


@admin.register(Poll)
class PollAdmin(admin.ModelAdmin[Poll]):
    list_display = ("question", "post", "closes_at")
    search_fields = ("question",)
    raw_id_fields = ("post",)
    inlines = [PollOptionInline]


@admin.register(Ballot)
class BallotAdmin(admin.ModelAdmin[Ballot]):
    list_display = ("user", "poll", "created_at")
    raw_id_fields = ("user", "poll")
