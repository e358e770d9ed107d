"""The chat page catching up after the server's Redis was away: `resync` names how far each conversation went,
and the page asks only when it is behind (docs/websocket.md, "Catching up")."""

import json
import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from chat import events, groups, services
from core import realtime
from tests.browser.threads import OwnThread
from tests.factories import make_user


def _resumes(frames: list[str]) -> int:
    return _count(frames, "resume")


def _count(frames: list[str], kind: str) -> int:
    return sum(1 for frame in frames if json.loads(frame).get("type") == kind)


def _in_a_thread[T](work: Callable[..., T], **kwargs: Any) -> T:
    """Announcing runs async_to_sync, which can't run where Playwright's event loop runs."""
    with OwnThread() as pool:
        return pool.submit(work, **kwargs).result()


def _wait_for(page: Page, check: Callable[[], bool], seconds: float = 15) -> None:
    """Wait for `check`, letting Playwright run meanwhile: the frames it records arrive only while it has the
    thread (`time.sleep` would hold them back, and the wait could never end)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the page never did it"
        page.wait_for_timeout(50)


def test_a_resync_brings_the_missed_message_and_one_naming_what_the_page_holds_asks_nothing(
    asgi_live_server, signed_in, settings, monkeypatch
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "message_account": (999, 60)}
    owner, ana = make_user(username="owner"), make_user(username="ana")
    group = _in_a_thread(groups.group_create, owner=owner, title="Night owls")
    invite = groups.invite_create(user=owner, conversation=group)
    _in_a_thread(groups.group_join_by_invite, user=ana, code=invite.code)
    _in_a_thread(services.message_send, sender=owner, conversation=group, text="still up?", client_id="o1")

    page = signed_in(ana)
    sent: list[str] = []
    received: list[str] = []

    def listen(socket: Any) -> None:
        socket.on("framesent", lambda payload: sent.append(str(payload)))
        socket.on("framereceived", lambda payload: received.append(str(payload)))

    page.on("websocket", listen)
    page.goto(f"/chats/{group.public_id}")
    expect(page.locator(".bubble").last).to_contain_text("still up?")
    _wait_for(page, lambda: _resumes(sent) == 1)  # the page's own resume, once connected
    # ... and its answer: one read after the next message is stored would bring that message itself, and the
    # page would rightly not ask again.
    _wait_for(page, lambda: _count(received, "resume.done") == 1)

    group.refresh_from_db()
    held = group.next_seq - 1
    realtime._push_local([ana.public_id], json.dumps({"type": "resync", "conversations": {group.public_id: held}}))
    # Redis is away: a message is stored and its event lost.
    monkeypatch.setattr(events, "_send", lambda public_ids, event: None)
    _in_a_thread(services.message_send, sender=owner, conversation=group, text="while you were away", client_id="o2")
    group.refresh_from_db()
    newest = {group.public_id: group.next_seq - 1}
    realtime._push_local([ana.public_id], json.dumps({"type": "resync", "conversations": newest}))

    expect(page.locator(".bubble").last).to_contain_text("while you were away")
    assert _resumes(sent) == 2  # the resync naming what the page held asked nothing
    assert page.locator(".bubble", has_text="still up?").count() == 1
