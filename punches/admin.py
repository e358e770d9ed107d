from django.contrib import admin

from .models import PlaylistEntry, Punch, PunchClock


@admin.register(PunchClock)
class PunchClockAdmin(admin.ModelAdmin[PunchClock]):
    list_display = ("channel", "window_start", "window_end", "prompt")
    raw_id_fields = ("channel",)


@admin.register(PlaylistEntry)
class PlaylistEntryAdmin(admin.ModelAdmin[PlaylistEntry]):
    list_display = ("channel", "song_post", "added_at")
    raw_id_fields = ("channel", "song_post")


@admin.register(Punch)
class PunchAdmin(admin.ModelAdmin[Punch]):
    list_display = ("user", "channel", "local_date", "punched_at", "streak", "rank")
    list_filter = ("local_date",)
    search_fields = ("user__username", "channel__name")
    raw_id_fields = ("user", "channel", "post", "song_post")
    date_hierarchy = "local_date"
