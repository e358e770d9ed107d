import secrets
from typing import ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _

from .usernames import username_key


def new_public_id() -> str:
    """An opaque id safe to show anyone: 16 random url-safe characters, never a row number."""
    return secrets.token_urlsafe(12)


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, username: str, email: str, password: str | None = None, **extra: object) -> "User":
        user = self.model(username=username, email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("email_verified", True)
        return self.create_user(username, email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Others know them only by `username`; `email` is shown to its owner alone.

    `username_key` folds case, width and look-alike letters, so that `Alice` and `аlice`
    (Cyrillic а) cannot both exist. `pending_email` holds a new address until it is verified.
    """

    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    username = models.CharField(_("username"), max_length=30, unique=True)
    username_key = models.CharField(max_length=60, unique=True, editable=False)
    email = models.EmailField(_("email"), max_length=254)
    email_verified = models.BooleanField(default=False)
    pending_email = models.EmailField(max_length=254, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    language = models.CharField(_("language"), max_length=16, default="en")
    sound_on = models.BooleanField(_("play sounds"), default=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=dj_timezone.now)
    # Set by an operator: until then the person can read but not post, message or create channels.
    suspended_until = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.CharField(max_length=500, blank=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]
        permissions = [("view_email", "Can see people's email addresses")]

    def __str__(self) -> str:
        return self.username

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > dj_timezone.now()

    def save(self, *args: object, **kwargs: object) -> None:
        # The key is derived data: it must move with the username whoever writes the row.
        self.username_key = username_key(self.username)
        super().save(*args, **kwargs)  # type: ignore[arg-type]  # passes Model.save's own arguments through


class AccessToken(models.Model):
    """A bearer token for an app: only its SHA-256 is stored; the person names and revokes it."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="access_tokens")
    public_id = models.CharField(max_length=24, unique=True, default=new_public_id, editable=False)
    digest = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name or 'token'} of {self.user}"
