"""Signing out: when a credential ends, the sockets it signed in stop hearing their person's events.

A socket is signed in with a bearer token or a web session (core.realtime.Credential) and carries every event
for its person — private messages among them — until it closes. Whatever ends a credential says so here: a token
revoked, a session signed out, every session at a password change (their hash is stale), everything at a
password reset. Once the ending is committed, every socket it signed in, on every server process, is closed with
4401 and hears nothing more (core.realtime.end_sockets).

An account closed ends everything whoever closes it — the person deleting theirs, an operator unticking "active" or
deleting it in the admin, a shell: the row's own signals say so here (`_deactivating`, `_deleted`), so no door can
forget to. A queryset's `update(is_active=False)` sends no signal and closes no socket: deactivate by saving the row.

A suspension ends nothing: the suspended still read their conversations (accounts/suspension.py). A session that
expires is not announced: each socket signed in with a session reads its expiry as it signs in and closes itself
then, unless the session was extended meanwhile (core.realtime.LiveConsumer, `session_expires_at`).
"""

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver
from django.http import HttpRequest

from .models import User


def token_ended(*, user: User, digest: str) -> None:
    """The token whose digest (`AccessToken.digest`) is `digest` was revoked."""
    _announce(user, token_digest=digest)


def session_ended(*, user: User, session_key: str) -> None:
    """The session with this key was signed out."""
    _announce(user, session_key=session_key)


def sessions_ended(*, user: User) -> None:
    """Every session of `user` ended (the password changed: the session they changed it in goes on under a new
    key, its socket reconnects with it); their apps' tokens go on."""
    _announce(user, sessions=True)


def everything_ended(*, user: User) -> None:
    """Every session and every token of `user` ended: their password was reset, or the account closed (deleted or
    made inactive: `_deactivating`, `_deleted` call this)."""
    _announce(user, sessions=True, tokens=True)


def _announce(
    user: User,
    *,
    token_digest: str | None = None,
    session_key: str | None = None,
    sessions: bool = False,
    tokens: bool = False,
) -> None:
    person = user.public_id

    def close() -> None:
        # Imported here: core.realtime imports accounts.services (the socket's sign-in), which calls this module.
        from core.realtime import Credential, Ending, end_sockets

        keys: tuple[str, ...] = ()
        if token_digest or session_key:
            keys = (Credential(token_digest=token_digest, session_key=session_key).key,)
        end_sockets(Ending(person=person, keys=keys, sessions=sessions, tokens=tokens))

    transaction.on_commit(close)


@receiver(user_logged_out)
def _logged_out(sender: Any, request: HttpRequest | None, user: User | None, **kwargs: Any) -> None:
    """Every sign-out from a page (the logout button, the admin's, a deleted account's) ends its session: Django
    sends this before it flushes the session, while its key is still known."""
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if user is not None and session_key:
        session_ended(user=user, session_key=session_key)


_ENDS_EVERYTHING = "_signouts_ends_everything"  # set on a User by pre_save, read by post_save


@receiver(pre_save, sender=User)
def _deactivating(sender: Any, instance: User, raw: bool, using: str, update_fields: Any, **kwargs: Any) -> None:
    """A row saved inactive whose stored row is active: the account is being closed (the admin's "active" unticked,
    anything else that saves it so). Compared with the row as stored, not as loaded, so a stale or hand-made instance
    cannot slip by; the query runs only when an inactive row is saved, which is rare."""
    closing = (
        not raw
        and not instance.is_active
        and instance.pk is not None
        and (update_fields is None or "is_active" in update_fields)
        and User.objects.using(using).filter(pk=instance.pk, is_active=True).exists()
    )
    vars(instance)[_ENDS_EVERYTHING] = closing


@receiver(post_save, sender=User)
def _deactivated(sender: Any, instance: User, **kwargs: Any) -> None:
    if vars(instance).pop(_ENDS_EVERYTHING, False):
        everything_ended(user=instance)


@receiver(post_delete, sender=User)
def _deleted(sender: Any, instance: User, **kwargs: Any) -> None:
    """The account was deleted: by its owner (accounts.services.user_delete), in the admin, or anywhere else."""
    everything_ended(user=instance)
