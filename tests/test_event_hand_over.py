"""Events handed to the event loop (core/realtime.py `publish`, `end_sockets`): from the loop itself they go out at
once, before the caller writes anything else; from a request's thread they are queued; and whatever the thread,
they reach the sockets in the order of the calls."""

import asyncio
import threading

import pytest
import pytest_asyncio

from core import realtime

pytestmark = pytest.mark.asyncio

PERSON = "p-hand-over"


class Socket:
    """What `_push_local` and `_end_local` need of a signed-in socket."""

    credential = realtime.Credential(token_digest="digest-of-the-token")

    def __init__(self) -> None:
        self.heard: list[str] = []
        self.ended = False

    def push(self, text: str) -> None:
        if not self.ended:
            self.heard.append(text)

    def end(self) -> None:
        self.ended = True


@pytest.fixture
def socket(monkeypatch: pytest.MonkeyPatch) -> Socket:
    listening = Socket()
    monkeypatch.setitem(realtime._sockets, PERSON, {listening})
    return listening


@pytest_asyncio.fixture
async def serving_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """This test's loop serves the sockets, as the server's does."""
    monkeypatch.setattr(realtime, "_serving_loop", asyncio.get_running_loop())


def _from_a_thread(call: object, *args: object) -> None:
    """Make the call on another thread, as a request does, while the loop stays busy (so it can't take it yet)."""
    thread = threading.Thread(target=call, args=args)  # type: ignore[arg-type]
    thread.start()
    thread.join()


async def _let_the_loop_turn() -> None:
    for _turn in range(5):
        await asyncio.sleep(0)


async def test_from_the_loop_an_event_is_with_the_sockets_before_publish_returns(socket, serving_loop):
    realtime.publish([PERSON], "a text sent over a socket")
    assert socket.heard == ["a text sent over a socket"], "queued for the socket before the sender is answered"


async def test_from_a_thread_an_event_waits_for_the_loop(socket, serving_loop):
    _from_a_thread(realtime.publish, [PERSON], "a message sent through the API")
    assert socket.heard == []
    await _let_the_loop_turn()
    assert socket.heard == ["a message sent through the API"]


async def test_the_loops_own_event_queues_behind_one_a_thread_handed_over_first(socket, serving_loop):
    _from_a_thread(realtime.publish, [PERSON], "first, from a request")
    realtime.publish([PERSON], "second, from a socket")
    assert socket.heard == [], "not ahead of the request's event, which the loop has not taken yet"
    await _let_the_loop_turn()
    assert socket.heard == ["first, from a request", "second, from a socket"]

    # Once nothing waits, the loop's events go out at once again.
    realtime.publish([PERSON], "third, from a socket")
    assert socket.heard[-1] == "third, from a socket"


async def test_an_event_from_the_loop_after_a_sign_out_from_a_thread_never_reaches_the_ended_socket(
    socket, serving_loop
):
    ending = realtime.Ending(person=PERSON, keys=(socket.credential.key,), sessions=False, tokens=False)
    _from_a_thread(realtime.end_sockets, ending)
    realtime.publish([PERSON], "sent after the sign-out")
    await _let_the_loop_turn()
    assert socket.ended
    assert socket.heard == []
