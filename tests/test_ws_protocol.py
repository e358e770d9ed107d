"""core.ws_protocol: one compressed frame per text, written to every socket that sends it, and what every client
receives is the text it was sent."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import ClientConnection, connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from core import ws_protocol
from core.ws_protocol import SharedFrameProtocol

pytestmark = pytest.mark.asyncio

_sockets: list[Any] = []  # the test app's open sockets' `send`


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Every text a socket sends is echoed to every open socket ("broadcast …"), or answered to it alone."""
    assert scope["type"] == "websocket"
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    _sockets.append(send)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            if send in _sockets:
                _sockets.remove(send)
            return
        text = message.get("text") or ""
        if text.startswith("broadcast "):
            for other in tuple(_sockets):
                with contextlib.suppress(Exception):
                    await other({"type": "websocket.send", "text": text.removeprefix("broadcast ")})
        elif text == "close":
            # Stays in _sockets: the next broadcast tries it, and the protocol must not write to it.
            await send({"type": "websocket.close", "code": 4000})
            return
        else:
            await send({"type": "websocket.send", "text": "you said " + text})


@pytest.fixture
async def server() -> AsyncIterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws=SharedFrameProtocol, log_level="warning", lifespan="off"
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:
        await asyncio.sleep(0.01)
    try:
        yield f"ws://127.0.0.1:{port}/"
    finally:
        instance.should_exit = True
        await asyncio.wait_for(task, 10)


async def _recv(socket_: ClientConnection) -> str:
    return str(await asyncio.wait_for(socket_.recv(), 5))


def _deflate(socket_: ClientConnection) -> str:
    return socket_.response.headers.get("Sec-WebSocket-Extensions", "") if socket_.response else ""


async def test_one_frame_is_built_per_text_and_every_socket_reads_it(server: str) -> None:
    event = json.dumps({"type": "message.new", "text": "a group message " * 20})
    async with connect(server) as a, connect(server) as b, connect(server) as c:
        # The server requires no context takeover on its side; the client's side is as the client asked.
        assert "permessage-deflate" in _deflate(a)
        assert "server_no_context_takeover" in _deflate(a)
        built, shared = ws_protocol.frame_stats["built"], ws_protocol.frame_stats["shared"]
        await a.send("broadcast " + event)
        assert [await _recv(s) for s in (a, b, c)] == [event] * 3
        assert ws_protocol.frame_stats["built"] - built == 1
        assert ws_protocol.frame_stats["shared"] - shared == 2
        # Each message stands alone: many of them, each read whole by every socket.
        for n in range(20):
            await b.send(f"broadcast {event}{n}")
            assert [await _recv(s) for s in (a, b, c)] == [f"{event}{n}"] * 3


async def test_sockets_that_compress_differently_get_frames_of_their_own(server: str) -> None:
    event = json.dumps({"type": "message.new", "text": "x" * 300})
    narrow = ClientPerMessageDeflateFactory(server_max_window_bits=10)
    async with (
        connect(server) as usual,
        connect(server, compression=None) as plain,
        connect(server, extensions=[narrow], compression=None) as windowed,
    ):
        assert _deflate(plain) == ""
        assert "server_max_window_bits=10" in _deflate(windowed)
        built = ws_protocol.frame_stats["built"]
        await usual.send("broadcast " + event)
        assert [await _recv(s) for s in (usual, plain, windowed)] == [event] * 3
        assert ws_protocol.frame_stats["built"] - built == 3  # deflate 12 bits, none, deflate 10 bits


async def test_what_the_client_sends_is_read_and_answers_go_to_that_socket_only(server: str) -> None:
    async with connect(server) as a, connect(server) as b:
        for n in range(5):  # the client keeps its compression context across these
            await a.send(f"hello {n} " * 30)
            assert await _recv(a) == "you said " + f"hello {n} " * 30
        await b.send("broadcast only once")
        assert await _recv(a) == "only once"
        assert await _recv(b) == "only once"
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(a.recv(), 0.3)


async def test_a_closed_socket_is_not_written_to(server: str) -> None:
    async with connect(server) as a, connect(server) as b:
        await b.send("close")
        await asyncio.wait_for(b.wait_closed(), 5)
        assert b.close_code == 4000
        built, shared = ws_protocol.frame_stats["built"], ws_protocol.frame_stats["shared"]
        await a.send("broadcast after the close")
        assert await _recv(a) == "after the close"
        assert ws_protocol.frame_stats["built"] - built == 1
        assert ws_protocol.frame_stats["shared"] - shared == 0  # the closed socket was not written to
    _sockets.clear()
