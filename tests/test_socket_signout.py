"""A socket stops hearing its person's events once the credential it signed in with ends (accounts/signouts.py):
a token revoked, a session signed out, a password changed or reset, the account deleted or made inactive (by its
owner, in the admin, anywhere). It is closed with 4401 at once, on every process (with REDIS_URL, through Redis),
and another credential's sockets go on. A session's socket also closes itself when its session expires."""

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from accounts.models import AccessToken, User
from accounts.services import token_issue
from chat import services as chat_services
from chat.models import Conversation, Participant
from core import realtime
from same.asgi import application
from tests.factories import PASSWORD, make_user
from tests.test_permission_matrix_ws import HOST, _session_cookie

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

CLOSED = {"type": "websocket.close", "code": 4401}


def _pair() -> tuple[Conversation, User, User]:
    ana, ben = make_user(username="ana"), make_user(username="ben")
    conversation = Conversation.objects.create(kind="direct", state="active", started_by=ana)
    Participant.objects.bulk_create([Participant(conversation=conversation, user=u) for u in (ana, ben)])
    return conversation, ana, ben


async def _token_socket(user: User) -> tuple[WebsocketCommunicator, str, str]:
    """A socket signed in with a token of its own: the socket, the token's secret and its public id."""
    issued = await database_sync_to_async(token_issue)(login=user.username, password=PASSWORD, client_ip="x")
    ws = WebsocketCommunicator(application, "/ws/", headers=HOST)
    assert (await ws.connect())[0]
    await ws.send_json_to({"type": "auth", "token": issued.secret})
    assert (await ws.receive_json_from(timeout=5))["type"] == "auth.ok"
    return ws, issued.secret, issued.token.public_id


async def _session_socket(user: User, key: str | None = None) -> tuple[WebsocketCommunicator, str]:
    """A socket signed in with a web session of its own (`key`: one made beforehand with `_sessions`): the socket and
    the session's key."""
    key = key or await database_sync_to_async(_session_cookie)(user)
    ws = WebsocketCommunicator(application, "/ws/", headers=[*HOST, (b"cookie", f"sessionid={key}".encode())])
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from(timeout=5))["type"] == "auth.ok"
    return ws, key


async def _sessions(user: User, count: int) -> list[str]:
    """`count` sessions of `user`, every one saved before a socket opens: on the SQLite test database (in memory, its
    cache shared) a socket's own read of its session, in another thread, can hold the table a moment as the next is
    written, and SQLite refuses such a write at once ("database table is locked"), as tests/test_permission_matrix_ws.py
    found."""
    return [await database_sync_to_async(_session_cookie)(user) for _ in range(count)]


def _browser(session_key: str) -> Client:
    client = Client()
    client.cookies["sessionid"] = session_key
    return client


async def _ben_says(conversation: Conversation, ben: User, text: str) -> None:
    await database_sync_to_async(chat_services.message_send)(
        sender=ben, conversation=conversation, text=text, client_id=text
    )


async def _hears(ws: WebsocketCommunicator, text: str) -> None:
    event = await ws.receive_json_from(timeout=5)
    assert (event["type"], event["message"]["text"]) == ("message.new", text)


@pytest.mark.parametrize("door", ["api", "web"])
async def test_revoking_a_token_closes_its_sockets_and_only_theirs(door):
    """Ensure that revoking a token (the API's DELETE /me/tokens/{id}, or the page's "sign out of that app") closes
    the socket it signed in with 4401 and that socket hears nothing of a message sent afterwards, while a socket of
    the same person signed in with another token stays open and hears it."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    phone, _secret, phone_token = await _token_socket(ana)
    laptop, laptop_secret, _id = await _token_socket(ana)

    def revoke() -> int:
        if door == "api":
            return (
                Client()
                .delete(f"/api/v1/me/tokens/{phone_token}", HTTP_AUTHORIZATION=f"Bearer {laptop_secret}")
                .status_code
            )
        client = Client()
        client.force_login(ana)
        return client.post(f"/me/apps/{phone_token}/sign-out").status_code

    assert await database_sync_to_async(revoke)() == (204 if door == "api" else 302)
    assert await phone.receive_output(timeout=5) == CLOSED
    await _ben_says(conversation, ben, "after the revoke")
    await _hears(laptop, "after the revoke")
    assert await phone.receive_nothing(timeout=0.3)
    await phone.disconnect()
    await laptop.disconnect()


async def test_a_message_sent_right_after_the_revoke_never_reaches_its_socket():
    """Ensure that, in one process (whichever the layer), a message sent the moment the revoke answered — before its socket's close was
    even read — reaches the other token's socket and not the revoked one: the revoked socket's only output is
    its close."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    phone, _secret, phone_token = await _token_socket(ana)
    laptop, laptop_secret, _id = await _token_socket(ana)

    def revoke_then_send() -> int:
        status = (
            Client()
            .delete(f"/api/v1/me/tokens/{phone_token}", HTTP_AUTHORIZATION=f"Bearer {laptop_secret}")
            .status_code
        )
        chat_services.message_send(sender=ben, conversation=conversation, text="right after", client_id="r")
        return status

    assert await database_sync_to_async(revoke_then_send)() == 204
    await _hears(laptop, "right after")
    assert await phone.receive_output(timeout=5) == CLOSED
    assert await phone.receive_nothing(timeout=0.3)
    await phone.disconnect()
    await laptop.disconnect()


async def test_a_failed_revoke_closes_nothing():
    """Ensure that revoking a token that is not yours (here: an id that doesn't exist) answers 404 and closes no
    socket."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    phone, secret, _id = await _token_socket(ana)
    answer = await database_sync_to_async(Client().delete)(
        "/api/v1/me/tokens/no-such-token", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    assert answer.status_code == 404
    await _ben_says(conversation, ben, "still here")
    await _hears(phone, "still here")
    await phone.disconnect()


async def test_signing_out_of_the_web_closes_that_sessions_socket_only():
    """Ensure that the web's logout closes the socket its session signed in (4401), which then hears nothing, while
    the same person's socket of another session and their app's socket stay open and hear the next message."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    keys = await _sessions(ana, 2)
    shared_phone, shared_key = await _session_socket(ana, keys[0])
    home, _home_key = await _session_socket(ana, keys[1])
    app, _secret, _id = await _token_socket(ana)

    answer = await database_sync_to_async(_browser(shared_key).post)("/logout")
    assert answer.status_code == 302
    assert await shared_phone.receive_output(timeout=5) == CLOSED
    await _ben_says(conversation, ben, "private")
    await _hears(home, "private")
    await _hears(app, "private")
    assert await shared_phone.receive_nothing(timeout=0.3)
    for ws in (shared_phone, home, app):
        await ws.disconnect()


async def test_a_password_change_closes_every_session_socket_and_keeps_the_apps():
    """Ensure that changing the password on the web closes every socket signed in with a session of that person
    (their sessions are stale: the one the change was made in goes on under a new key, and its page reconnects),
    while the apps' token sockets stay open and hear the next message."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    keys = await _sessions(ana, 2)
    here, here_key = await _session_socket(ana, keys[0])
    elsewhere, _key = await _session_socket(ana, keys[1])
    app, _secret, _id = await _token_socket(ana)
    answer = await database_sync_to_async(_browser(here_key).post)(
        "/me/password", {"old_password": PASSWORD, "new_password": "another calm river at dusk"}
    )
    assert answer.status_code == 302
    assert await here.receive_output(timeout=5) == CLOSED
    assert await elsewhere.receive_output(timeout=5) == CLOSED
    await _ben_says(conversation, ben, "new password")
    await _hears(app, "new password")
    for ws in (here, elsewhere, app):
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()


async def test_a_wrong_password_closes_nothing():
    """Ensure that a refused password change (the old password wrong) leaves every socket open."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    here, here_key = await _session_socket(ana)
    answer = await database_sync_to_async(_browser(here_key).post)(
        "/me/password", {"old_password": "not it at all", "new_password": "another calm river at dusk"}
    )
    assert answer.status_code == 400
    await _ben_says(conversation, ben, "same password")
    await _hears(here, "same password")
    await here.disconnect()


async def test_deleting_the_account_closes_all_its_sockets_and_no_one_elses():
    """Ensure that deleting the account (on the web) closes every socket of that person — sessions and tokens,
    the page's own included — with 4401, and the other person's socket stays open."""
    _conversation, ana, ben = await database_sync_to_async(_pair)()
    keys = await _sessions(ana, 2)
    page, page_key = await _session_socket(ana, keys[0])
    other_session, _key = await _session_socket(ana, keys[1])
    app, _secret, _id = await _token_socket(ana)
    bens, _ben_secret, _ben_id = await _token_socket(ben)
    answer = await database_sync_to_async(_browser(page_key).post)("/me/delete", {"password": PASSWORD})
    assert answer.status_code == 200
    assert not await database_sync_to_async(User.objects.filter(username="ana").exists)()
    for ws in (page, other_session, app):
        assert await ws.receive_output(timeout=5) == CLOSED
    await bens.send_json_to({"type": "ping"})
    assert await bens.receive_json_from(timeout=5) == {"type": "pong"}
    for ws in (page, other_session, app, bens):
        await ws.disconnect()


async def test_a_password_reset_closes_every_socket_of_that_person():
    """Ensure that a password reset (from the inbox's link) ends every session and token: all sockets close."""
    _conversation, ana, _ben = await database_sync_to_async(_pair)()
    page, _key = await _session_socket(ana)
    app, _secret, _id = await _token_socket(ana)

    def reset() -> None:
        from accounts.services import password_reset_confirm
        from accounts.tokens import password_reset_tokens

        password_reset_confirm(
            token=f"{ana.public_id}.{password_reset_tokens.make_token(ana)}", new_password="another calm river"
        )

    await database_sync_to_async(reset)()
    assert await page.receive_output(timeout=5) == CLOSED
    assert await app.receive_output(timeout=5) == CLOSED
    assert not await database_sync_to_async(AccessToken.objects.filter(user=ana).exists)()
    await page.disconnect()
    await app.disconnect()


async def test_a_socket_signing_in_as_its_credential_ends_is_closed_as_it_registers():
    """Ensure that a socket whose session was read valid just before it ended — the ending heard while the socket
    was still signing in — is closed with 4401 before it hears anything, and one of another session is not."""
    _conversation, ana, _ben = await database_sync_to_async(_pair)()
    doomed = await database_sync_to_async(_session_cookie)(ana)
    realtime._end_local(realtime.Ending(person=ana.public_id, keys=(realtime.Credential(session_key=doomed).key,)))
    ws = WebsocketCommunicator(application, "/ws/", headers=[*HOST, (b"cookie", f"sessionid={doomed}".encode())])
    assert (await ws.connect())[0]
    assert await ws.receive_output(timeout=5) == CLOSED
    await ws.disconnect()
    fine, _key = await _session_socket(ana)
    await fine.send_json_to({"type": "ping"})
    assert await fine.receive_json_from(timeout=5) == {"type": "pong"}
    await fine.disconnect()


async def test_what_travels_names_no_session_key():
    """Ensure that the ending's message (to every process, through the channel layer) names the credential by a
    digest: neither the session's key nor the token's digest appears in it."""
    ending = realtime.Ending(person="p", keys=(realtime.Credential(session_key="abc123session").key,))
    wire = json.dumps({"type": "credentials.ended", **ending.__dict__})
    assert "abc123session" not in wire
    assert realtime.Credential(token_digest="d" * 64).key != "d" * 64
    assert realtime._ending_from(json.loads(wire)) == ending


def _account_closings(monkeypatch: pytest.MonkeyPatch) -> list[realtime.Ending]:
    """The endings of every session and token announced from now on (one per account closed)."""
    closings: list[realtime.Ending] = []
    end_sockets = realtime.end_sockets

    def noted(ending: realtime.Ending) -> None:
        if ending.sessions and ending.tokens:
            closings.append(ending)
        end_sockets(ending)

    monkeypatch.setattr(realtime, "end_sockets", noted)
    return closings


def _operator_client() -> Client:
    client = Client()
    client.force_login(make_user(username="operator", is_staff=True, is_superuser=True))
    return client


def _admin_form(user: User, **changes: str) -> dict[str, object]:
    """The admin's change form for `user` as an operator posts it, everything as it was but `changes`; a box
    left out of the form is unticked."""
    user.refresh_from_db()
    form: dict[str, object] = {
        "username": user.username,
        "email": user.email,
        "pending_email": user.pending_email,
        "timezone": user.timezone,
        "language": user.language,
        "suspended_until_0": "",
        "suspended_until_1": "",
        "suspension_reason": user.suspension_reason,
        "_save": "Save",
    }
    ticked = {"email_verified": user.email_verified, "sound_on": user.sound_on, "is_active": user.is_active}
    form.update({name: "on" for name, on in ticked.items() if on})
    form.update(changes)
    return {name: value for name, value in form.items() if value != "off"}


async def _closed(*sockets: WebsocketCommunicator) -> None:
    for ws in sockets:
        assert await ws.receive_output(timeout=5) == CLOSED


async def test_unticking_active_in_the_admin_closes_every_socket_of_that_person(monkeypatch):
    """Ensure that an operator unticking "active" on the admin's change form (its POST, as the browser sends it)
    closes every socket of that person — sessions and tokens — with 4401, once, and they hear nothing of a message
    sent afterwards; the other person's socket stays open and hears it."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    page, _key = await _session_socket(ana)
    app, _secret, _id = await _token_socket(ana)
    bens, _ben_secret, _ben_id = await _token_socket(ben)
    closings = _account_closings(monkeypatch)

    def untick() -> int:
        form = _admin_form(ana, is_active="off")
        return _operator_client().post(f"/admin/accounts/user/{ana.pk}/change/", form).status_code

    assert await database_sync_to_async(untick)() == 302
    assert not (await database_sync_to_async(User.objects.get)(pk=ana.pk)).is_active
    await _closed(page, app)
    await _ben_says(conversation, ben, "after the close")
    await _hears(bens, "after the close")
    for ws in (page, app):
        assert await ws.receive_nothing(timeout=0.3)
    assert [ending.person for ending in closings] == [ana.public_id]
    for ws in (page, app, bens):
        await ws.disconnect()


async def test_other_edits_in_the_admin_close_nothing(monkeypatch):
    """Ensure that saving the admin's change form with "active" still ticked (another field changed), or saving an
    account that was already inactive, closes no socket and announces nothing."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    page, _key = await _session_socket(ana)
    closings = _account_closings(monkeypatch)

    def edit() -> list[int]:
        operator = _operator_client()
        answers = [operator.post(f"/admin/accounts/user/{ana.pk}/change/", _admin_form(ana, timezone="Asia/Tokyo"))]
        ben.is_active = False
        ben.save()
        answers.append(operator.post(f"/admin/accounts/user/{ben.pk}/change/", _admin_form(ben, language="fr")))
        return [answer.status_code for answer in answers]

    assert await database_sync_to_async(edit)() == [302, 302]
    await _ben_says(conversation, ana, "to myself")  # ana's own message comes back to her socket
    await _hears(page, "to myself")
    assert len(closings) == 1  # ben's deactivation, by hand, in `edit`
    await page.disconnect()


@pytest.mark.parametrize("how", ["save", "save_update_fields", "admin_delete", "admin_delete_selected", "delete"])
async def test_an_account_closed_anywhere_closes_its_sockets_once(how, monkeypatch):
    """Ensure that an account made inactive by any code that saves the row (an operator's shell, a command), or
    deleted in the admin or anywhere, closes every socket of that person with 4401 — announced once — and they hear
    nothing more."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    page, _key = await _session_socket(ana)
    app, _secret, _id = await _token_socket(ana)
    closings = _account_closings(monkeypatch)

    def close() -> None:
        user = User.objects.get(pk=ana.pk)
        if how == "save":
            user.is_active = False
            user.save()
        elif how == "save_update_fields":
            user.is_active = False
            user.save(update_fields=["is_active"])
        elif how == "admin_delete":
            answer = _operator_client().post(f"/admin/accounts/user/{ana.pk}/delete/", {"post": "yes"})
            assert answer.status_code == 302
            assert not User.objects.filter(pk=ana.pk).exists()
        elif how == "admin_delete_selected":
            answer = _operator_client().post(
                "/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [ana.pk], "post": "yes"}
            )
            assert answer.status_code == 302
            assert not User.objects.filter(pk=ana.pk).exists()
        else:
            user.delete()

    await database_sync_to_async(close)()
    await _closed(page, app)
    if how.startswith("save"):  # still a member of the conversation, as a deactivated account stays
        await _ben_says(conversation, ben, "after the close")
    for ws in (page, app):
        assert await ws.receive_nothing(timeout=0.3)
    assert [ending.person for ending in closings] == [ana.public_id]
    for ws in (page, app):
        await ws.disconnect()


async def test_deleting_the_account_on_the_web_announces_it_once(monkeypatch):
    """Ensure that the owner's own deletion (the service, then the row's deletion) announces the account's closing
    once, not once from each."""
    _conversation, ana, _ben = await database_sync_to_async(_pair)()
    page, page_key = await _session_socket(ana)
    closings = _account_closings(monkeypatch)
    answer = await database_sync_to_async(_browser(page_key).post)("/me/delete", {"password": PASSWORD})
    assert answer.status_code == 200
    await _closed(page)
    assert [ending.person for ending in closings] == [ana.public_id]
    await page.disconnect()


async def test_a_password_set_in_the_admin_closes_every_session_socket_and_keeps_the_apps():
    """Ensure that an operator setting someone's password in the admin (its "change password" form) closes every
    socket signed in with a session of theirs, as their own change of password does, while their app's socket stays
    open and hears the next message."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    page, _key = await _session_socket(ana)
    app, _secret, _id = await _token_socket(ana)

    def set_password() -> int:
        new = "a fresh lantern by the sea"
        return (
            _operator_client()
            .post(
                f"/admin/accounts/user/{ana.pk}/password/",
                {"usable_password": "true", "password1": new, "password2": new},
            )
            .status_code
        )

    assert await database_sync_to_async(set_password)() == 302
    await _closed(page)
    await _ben_says(conversation, ben, "new password")
    await _hears(app, "new password")
    assert await page.receive_nothing(timeout=0.3)
    await page.disconnect()
    await app.disconnect()


@pytest.mark.parametrize("how", ["delete_view", "delete_selected"])
async def test_a_token_deleted_in_the_admin_closes_its_sockets_only(how):
    """Ensure that deleting a token in the admin (its delete page, or the list's "delete selected") revokes it as
    its owner would: the socket it signed in closes with 4401, the same person's other token's socket goes on."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    phone, _secret, phone_token = await _token_socket(ana)
    laptop, _laptop_secret, _id = await _token_socket(ana)

    def delete() -> int:
        pk = AccessToken.objects.get(public_id=phone_token).pk
        operator = _operator_client()
        if how == "delete_view":
            return operator.post(f"/admin/accounts/accesstoken/{pk}/delete/", {"post": "yes"}).status_code
        return operator.post(
            "/admin/accounts/accesstoken/", {"action": "delete_selected", "_selected_action": [pk], "post": "yes"}
        ).status_code

    assert await database_sync_to_async(delete)() == 302
    await _closed(phone)
    await _ben_says(conversation, ben, "after the delete")
    await _hears(laptop, "after the delete")
    assert await phone.receive_nothing(timeout=0.3)
    await phone.disconnect()
    await laptop.disconnect()


def _expiring_session(user: User, seconds: int) -> str:
    """A web session of `user` that expires `seconds` from now (`set_expiry`), unless saved again."""
    session = SessionStore(session_key=_session_cookie(user))
    session.set_expiry(seconds)
    session.save()
    return str(session.session_key)


async def _expiring_socket(user: User, seconds: int) -> tuple[WebsocketCommunicator, str]:
    key = await database_sync_to_async(_expiring_session)(user, seconds)
    ws = WebsocketCommunicator(application, "/ws/", headers=[*HOST, (b"cookie", f"sessionid={key}".encode())])
    assert (await ws.connect())[0]
    assert (await ws.receive_json_from(timeout=5))["type"] == "auth.ok"
    return ws, key


async def test_a_sessions_socket_closes_when_its_session_expires_and_not_before():
    """Ensure that a socket signed in with a session that expires in 4 s hears its person's events until then and is
    closed with 4401 at its expiry, after which it hears nothing; a token's socket of the same person goes on."""
    conversation, ana, ben = await database_sync_to_async(_pair)()
    loop = asyncio.get_running_loop()
    began = loop.time()
    page, _key = await _expiring_socket(ana, 4)
    app, _secret, _id = await _token_socket(ana)
    assert await page.receive_nothing(timeout=2.0)
    await _ben_says(conversation, ben, "before it expires")
    await _hears(page, "before it expires")
    await _hears(app, "before it expires")
    assert await page.receive_output(timeout=5) == CLOSED
    assert loop.time() - began >= 3.9
    await _ben_says(conversation, ben, "after it expired")
    await _hears(app, "after it expired")
    assert await page.receive_nothing(timeout=0.3)
    await page.disconnect()
    await app.disconnect()


async def test_a_session_extended_meanwhile_keeps_its_socket_until_its_new_expiry(settings):
    """Ensure that a session saved again while its socket is open (here a page loaded with SESSION_SAVE_EVERY_REQUEST,
    which moves its expiry on) keeps that socket open past the expiry it had when the socket signed in, and the
    socket closes (4401) at the new expiry."""
    settings.SESSION_SAVE_EVERY_REQUEST = True
    _conversation, ana, _ben = await database_sync_to_async(_pair)()
    loop = asyncio.get_running_loop()
    page, key = await _expiring_socket(ana, 4)
    began = loop.time()
    await asyncio.sleep(2.0)
    extended = loop.time()
    answer = await database_sync_to_async(_browser(key).get)("/me")
    assert answer.status_code == 200
    assert await page.receive_nothing(timeout=extended + 3.5 - loop.time())  # past the first expiry (began + 4)
    assert loop.time() - began > 4.5
    await page.send_json_to({"type": "ping"})
    assert await page.receive_json_from(timeout=5) == {"type": "pong"}
    assert await page.receive_output(timeout=5) == CLOSED
    assert loop.time() - extended >= 3.9
    await page.disconnect()
