"""HTTP through Django's WSGI handler inside the ASGI app (core/http_bridge.py): requests and responses
arrive whole, big ones stream, the response is closed (request_finished), and code in the pool threads
reaches the server's event loop through async_to_sync, as the channel layer's announcements need."""

import asyncio
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from core.http_bridge import BODY_IN_MEMORY, STREAM_ABOVE, WSGIBridge, environ_for

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def scope(path: str = "/", method: str = "GET", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": b"a=1&b=%C3%A9",
        "headers": headers or [],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 8000),
        "client": ("10.0.0.7", 5555),
    }


async def call(app: WSGIBridge, sc: dict[str, Any], chunks: list[bytes]) -> list[MutableMapping[str, Any]]:
    incoming = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(sc, receive, send)
    return sent


class Closing:
    def __init__(self, parts: Iterable[bytes], closed: list[bool]) -> None:
        self.parts, self.closed = parts, closed

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.parts)

    def close(self) -> None:
        self.closed.append(True)


def test_environ_is_pep_3333():
    env = environ_for(
        scope(
            "/c/é",
            "POST",
            [
                (b"content-type", b"text/plain"),
                (b"content-length", b"3"),
                (b"x-thing", b"a"),
                (b"x-thing", b"b"),
                (b"cookie", b"a=1"),
                (b"cookie", b"b=2"),
            ],
        ),
        body=None,  # type: ignore[arg-type]
    )
    assert env["PATH_INFO"] == "/c/é".encode().decode("latin-1")
    assert env["QUERY_STRING"] == "a=1&b=%C3%A9"
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"]) == ("text/plain", "3")
    assert env["HTTP_X_THING"] == "a,b"
    assert env["HTTP_COOKIE"] == "a=1; b=2"
    assert (env["REMOTE_ADDR"], env["SERVER_NAME"], env["SERVER_PORT"]) == ("10.0.0.7", "127.0.0.1", "8000")


def test_a_body_in_several_chunks_and_over_the_memory_limit_arrives_whole():
    seen: dict[str, Any] = {}
    closed: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        seen["body"] = environ["wsgi.input"].read()
        seen["rolled"] = environ["wsgi.input"]._rolled  # spilled to a temporary file
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-A", "1")])
        return Closing([b"he", b"", b"llo"], closed)

    big = b"x" * (BODY_IN_MEMORY + 10)
    sent = asyncio.run(call(WSGIBridge(app, threads=2), scope(method="POST"), [big[:100], big[100:]]))
    assert seen == {"body": big, "rolled": True}
    assert sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"text/plain"), (b"x-a", b"1")],
    }
    assert sent[1:] == [{"type": "http.response.body", "body": b"hello", "more_body": False}]
    assert closed == [True]


def test_a_big_response_streams_in_order_and_is_closed():
    closed: list[bool] = []
    part = b"y" * (64 * 1024)
    count = 4 * STREAM_ABOVE // len(part) + 1

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return Closing((part for _ in range(count)), closed)

    sent = asyncio.run(call(WSGIBridge(app, threads=1), scope(), [b""]))
    assert sent[0]["type"] == "http.response.start"
    bodies = sent[1:]
    assert len(bodies) > 2  # sent while the iterator ran, not gathered
    assert all(m["more_body"] for m in bodies[:-1])
    assert not bodies[-1]["more_body"]
    assert b"".join(m["body"] for m in bodies) == part * count
    assert closed == [True]


def test_the_response_is_closed_even_when_the_iterator_fails():
    closed: list[bool] = []

    def failing() -> Iterator[bytes]:
        yield b"a"
        raise RuntimeError("disk gone")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        start_response("200 OK", [])
        return Closing(failing(), closed)

    with pytest.raises(RuntimeError, match="disk gone"):
        asyncio.run(call(WSGIBridge(app, threads=1), scope(), [b""]))
    assert closed == [True]


def test_async_to_sync_in_a_pool_thread_runs_on_the_servers_loop():
    loops: dict[str, Any] = {}

    async def where() -> None:
        loops["coroutine"] = asyncio.get_running_loop()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        async_to_sync(where)()
        start_response("204 No Content", [])
        return []

    async def main() -> None:
        loops["server"] = asyncio.get_running_loop()
        await call(WSGIBridge(app, threads=1), scope(), [b""])

    asyncio.run(main())
    assert loops["coroutine"] is loops["server"]


def test_a_client_that_leaves_before_its_body_arrived_gets_nothing():
    ran: list[bool] = []

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        ran.append(True)
        return []

    async def leave() -> list[MutableMapping[str, Any]]:
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await WSGIBridge(app, threads=1)(scope(method="POST"), receive, send)
        return sent

    assert asyncio.run(leave()) == []
    assert ran == []


@pytest.mark.django_db(transaction=True)
def test_the_project_serves_pages_through_the_bridge_and_finishes_each_request():
    from django.core.signals import request_finished

    from same.asgi import application, http_application

    finished: list[bool] = []

    def on_finish(**kwargs: Any) -> None:
        finished.append(True)

    request_finished.connect(on_finish)
    try:
        sent = asyncio.run(call(application, scope("/healthz"), [b""]))
    finally:
        request_finished.disconnect(on_finish)
    assert isinstance(http_application, WSGIBridge)
    assert sent[0]["status"] == 200
    assert finished == [True]
