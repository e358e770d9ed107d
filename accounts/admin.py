from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import AccessToken, User


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    list_display = ("username", "email_verified", "is_active", "is_staff", "date_joined")
    list_filter = ("is_active", "is_staff", "email_verified", "language")
    search_fields = ("username",)
    ordering = ("-date_joined",)
    readonly_fields = ("public_id", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("public_id", "username", "password")}),
        ("Private", {"fields": ("email", "email_verified", "pending_email")}),
        ("Preferences", {"fields": ("timezone", "language")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),)


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin[AccessToken]):
    list_display = ("user", "name", "created_at", "last_used_at")
    readonly_fields = ("public_id", "digest", "created_at", "last_used_at")
    search_fields = ("user__username", "name")
