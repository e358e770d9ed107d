from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from . import services, signouts
from .deletion import deletion_notes
from .models import AccessToken, User

PRIVATE = ("email", "pending_email")


def sees_email(request: HttpRequest) -> bool:
    """Moderators are staff; only those given `accounts.view_email` (and superusers) see addresses."""
    return bool(request.user.has_perm("accounts.view_email"))


class SuspendedFilter(admin.SimpleListFilter):
    title = "suspended"
    parameter_name = "suspended"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Suspended now")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "yes":
            from django.utils import timezone

            return queryset.filter(suspended_until__gt=timezone.now())
        return queryset


class PasswordSetByOperatorForm(AdminPasswordChangeForm[User]):
    """The admin's "set password": every session of that person ends, as at their own change of password
    (accounts.services.user_change_password), and the sockets they signed in close. Their apps' tokens go on."""

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=commit)
        if commit:
            signouts.sessions_ended(user=user)
        return user


@admin.register(User)
class UserAdmin(BaseUserAdmin[User]):
    # Unticking "active" or deleting the account ends everything of theirs whoever saves it (accounts/signouts.py).
    # The row's signals say so, and a queryset's update() sends none: this admin has no list-editable column and no
    # action but "delete selected", so every change here saves its row. An action or a list_editable "is_active"
    # added later must save each row too (list_editable does: the changelist's formset saves row by row).
    change_password_form = PasswordSetByOperatorForm
    list_display = ("username", "email_verified", "is_active", "is_staff", "suspended_until", "date_joined")
    list_filter = ("is_active", "is_staff", "email_verified", SuspendedFilter, "language")
    search_fields = ("username", "public_id")
    ordering = ("-date_joined",)
    readonly_fields = ("public_id", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("public_id", "username", "password")}),
        (_("Private"), {"fields": ("email", "email_verified", "pending_email")}),
        (_("Preferences"), {"fields": ("timezone", "language", "sound_on")}),
        (_("Suspension"), {"fields": ("suspended_until", "suspension_reason")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("date_joined", "last_login")}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if sees_email(request) or obj is None:
            return fieldsets
        return [
            (name, {**options, "fields": tuple(f for f in options["fields"] if f not in PRIVATE)})
            for name, options in fieldsets
        ]

    def get_search_fields(self, request: HttpRequest) -> Any:
        return ("username", "public_id", "email") if sees_email(request) else ("username", "public_id")

    def get_list_display(self, request: HttpRequest) -> Any:
        shown = super().get_list_display(request)
        return (*shown[:1], "email", *shown[1:]) if sees_email(request) else shown

    def has_add_permission(self, request: HttpRequest) -> bool:
        return sees_email(request) and super().has_add_permission(request)

    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "password1", "password2")}),)

    # An account deleted here goes as its owner's own deletion goes (accounts.services.user_remove): each feature's
    # deletion step runs first (files on storage, channels the person hosts), inside the deletion's transaction.
    def delete_model(self, request: HttpRequest, obj: User) -> None:
        services.user_remove(user=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        # One at a time, as each would go on its own: a channel handed by one of them to another being deleted
        # passes on again. One transaction for them all ("delete selected" runs outside the admin's atomic views).
        with transaction.atomic(using=queryset.db):
            for user in queryset:
                services.user_remove(user=user)

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[Any, Any], set[str], list[Any]]:
        """The confirmation lists the rows that go with them, then what the deletion steps do that no row shows:
        files removed, channels passed on, messages blanked (accounts/deletion.py)."""
        rows, counts, missing_permissions, protected = super().get_deleted_objects(objs, request)
        return [*rows, *deletion_notes(list(objs))], counts, missing_permissions, protected


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin[AccessToken]):
    list_display = ("user", "name", "created_at", "last_used_at")
    # "user": a token is one person's for its life. Moved to another, the app holding its secret would act as them,
    # and the sockets it signed in would go on hearing the first person's events. Revoke it (delete) instead.
    readonly_fields = ("user", "public_id", "digest", "created_at", "last_used_at")
    search_fields = ("user__username", "name")

    # Made only by a person signing in an app (accounts.services.token_issue), which alone ever sees its secret:
    # one added here would have no secret at all (an empty digest no app can present; a second, a unique clash).
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # A token deleted here is revoked as the person revoking it would (accounts.services.token_revoke): its
    # sockets close.
    def delete_model(self, request: HttpRequest, obj: AccessToken) -> None:
        super().delete_model(request, obj)
        signouts.token_ended(user=obj.user, digest=obj.digest)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[AccessToken]) -> None:
        tokens = list(queryset.select_related("user"))
        super().delete_queryset(request, queryset)
        for token in tokens:
            signouts.token_ended(user=token.user, digest=token.digest)
