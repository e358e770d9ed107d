"""HTTP through Django's WSGI handler inside the ASGI application, with one thread hop per request.

Django's ASGI handler runs every request's sync middleware chain and sync view in a fresh thread
context and goes back and forth between it and the event loop several times (request_started, the
middleware, the view, request_finished): on this project's machine that costs ~3 ms a request, three
times a light request's own work (docs/performance.md, "The serving stack"). Every view here is sync,
so the event loop gains nothing from those hops. This bridge reads the request body on the loop, hands
the whole request to Django's WSGI handler in a fixed pool of threads — one hop — and writes the
response back. The WebSocket (`/ws/`) stays on Channels (same/asgi.py), so one process and one origin
serve both.

Inside the pool threads, `async_to_sync` (used to announce events over the channel layer) goes back
to the server's event loop, as it does under Django's ASGI handler: the threads are entered through
asgiref's `SyncToAsync`, which records the loop for them.
"""

import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, Protocol

from asgiref.sync import SyncToAsync

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Coroutine[Any, Any, None]]
StartResponse = Callable[..., Any]

BODY_IN_MEMORY = 1024 * 1024  # request bodies above this spill to a temporary file, as Django's ASGI handler does
STREAM_ABOVE = 256 * 1024  # a response body bigger than this is sent in chunks while the view's iterator runs


class WSGIApplication(Protocol):
    def __call__(self, environ: dict[str, Any], start_response: StartResponse, /) -> Iterable[bytes]: ...


class ClientGone(Exception):
    """The client went away while the request body was being read."""


def environ_for(scope: Scope, body: IO[bytes]) -> dict[str, Any]:
    """The WSGI environ of an ASGI HTTP scope (PEP 3333; header values and paths as latin-1 strings)."""
    script_name = scope.get("root_path", "").encode("utf-8").decode("latin-1")
    path_info = scope["path"].encode("utf-8").decode("latin-1")
    if script_name and path_info.startswith(script_name):
        path_info = path_info[len(script_name) :]
    server = scope.get("server") or ("localhost", 80)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = str(client[0])
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").lower()
        if name == "content-length":
            key = "CONTENT_LENGTH"
        elif name == "content-type":
            key = "CONTENT_TYPE"
        else:
            key = "HTTP_" + name.upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


async def read_body(receive: Receive) -> IO[bytes]:
    body = tempfile.SpooledTemporaryFile(max_size=BODY_IN_MEMORY)  # noqa: SIM115  (closed by the caller)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            body.close()
            raise ClientGone
        body.write(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body.seek(0)
    return body


class _Exchange:
    """One request's response, filled in by the pool thread and finished on the event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, send: Send) -> None:
        self.loop = loop
        self.send = send
        self.start: Message | None = None
        self.started = False  # whether the start message already went out (a streamed response)
        self.pieces: list[bytes] = []

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        if exc_info is not None and self.started:
            raise exc_info[1].with_traceback(exc_info[2])
        self.start = {
            "type": "http.response.start",
            "status": int(status.split(" ", 1)[0]),
            "headers": [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        }

    def _send_from_thread(self, message: Message) -> None:
        asyncio.run_coroutine_threadsafe(self.send(message), self.loop).result()

    def run(self, app: WSGIApplication, environ: dict[str, Any]) -> None:
        """In a pool thread: the whole Django request, and the response body gathered (or streamed)."""
        result = app(environ, self.start_response)
        try:
            size = 0
            for chunk in result:
                if not chunk:
                    continue
                self.pieces.append(chunk)
                size += len(chunk)
                if size >= STREAM_ABOVE:
                    if not self.started:
                        assert self.start is not None
                        self._send_from_thread(self.start)
                        self.started = True
                    body = b"".join(self.pieces)
                    self.pieces, size = [], 0
                    self._send_from_thread({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # Django's request_finished: the database connection goes back or closes here

    async def finish(self) -> None:
        if not self.started:
            assert self.start is not None, "the WSGI application never called start_response"
            await self.send(self.start)
        await self.send({"type": "http.response.body", "body": b"".join(self.pieces), "more_body": False})


class WSGIBridge:
    """An ASGI application for HTTP that runs a WSGI application in a pool of `threads` threads."""

    def __init__(self, app: WSGIApplication, *, threads: int) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        try:
            body = await read_body(receive)
        except ClientGone:
            return
        try:
            exchange = _Exchange(asyncio.get_running_loop(), send)
            run = SyncToAsync(exchange.run, thread_sensitive=False, executor=self.executor)
            await run(self.app, environ_for(scope, body))
        finally:
            body.close()
        await exchange.finish()
