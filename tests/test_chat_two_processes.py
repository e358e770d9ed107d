"""Two real server processes share events through Redis: a message sent to A reaches a socket on B, and a token
revoked on A closes its socket on B."""

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from django.conf import settings
from django.db import connection

from accounts.services import token_issue
from chat.services import conversation_accept, conversation_knock
from posts.services import post_create_text
from tests.factories import PASSWORD, make_channel, make_user

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.django_db(transaction=True)


_handed_out: set[int] = set()


def _free_port() -> int:
    """A port no one listens on: the system's choice, or on a shared machine one of SAME_TEST_PORTS ("8700-8749"),
    each parallel test worker from its own ten (one worker's server may not listen yet when another looks)."""
    low, _sep, high = os.environ.get("SAME_TEST_PORTS", "").partition("-")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = int(low) + 10 * (int(worker) if worker.isdigit() else 0) if low.isdigit() else 0
    candidates = range(first, int(high) + 1) if low.isdigit() and high.isdigit() else range(1)
    for port in candidates:
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            chosen = int(probe.getsockname()[1])
        _handed_out.add(chosen)
        return chosen
    raise AssertionError(f"no free port in SAME_TEST_PORTS={os.environ.get('SAME_TEST_PORTS')}")


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start(port: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "same.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CACHE_PREFIX": "same-two-processes",
        "SAME_VAR_DIR": str(tmp_path),
        "SECRET_KEY": "two-processes-test-key-" + "x" * 30,
        "STATIC_MANIFEST": "0",
    }
    env.pop("SAME_TESTING", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "same.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--ws",
            "core.ws_protocol:SharedFrameProtocol",  # as `manage.py serve` runs it
        ],
        cwd=ROOT,
        env=env,
    )


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"server on {port} did not start")


@contextlib.contextmanager
def _two_processes(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """Two server processes (A, B) sharing the test database and Redis, up; stopped at the end."""
    port_a, port_b = _free_port(), _free_port()
    servers = [_start(port_a, tmp_path / "a"), _start(port_b, tmp_path / "b")]
    try:
        _wait_up(port_a)
        _wait_up(port_b)
        yield port_a, port_b
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=20)


def _a_knock():
    """Both tests' start: PostgreSQL and Redis (both processes share them), and `knocker`'s first message to
    `author`, whose conversation it returns."""
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        pytest.skip("needs PostgreSQL and Redis (the CI's second pass): both processes must share them")
    author, knocker = make_user(username="author"), make_user(username="knocker")
    channel = make_channel(name="Insomnia", host=author)
    post = post_create_text(author=author, channel=channel, text="awake")
    conversation, _sent = conversation_knock(sender=knocker, post=post, text="hi", client_id="k1")
    return conversation


def test_a_message_sent_to_one_process_reaches_a_socket_on_the_other(tmp_path):
    conversation = _a_knock()
    author_token = token_issue(login="author", password=PASSWORD, client_ip="x").secret
    knocker_token = token_issue(login="knocker", password=PASSWORD, client_ip="x").secret
    with _two_processes(tmp_path) as (port_a, port_b):

        async def scenario() -> dict:
            async with websockets.connect(f"ws://127.0.0.1:{port_b}/ws/", origin=f"http://127.0.0.1:{port_b}") as ws:  # type: ignore[arg-type]
                await ws.send(json.dumps({"type": "auth", "token": author_token}))
                assert json.loads(await ws.recv())["type"] == "auth.ok"
                # Idle for longer than a Redis read timeout: the socket must still be served afterwards
                # (channels_redis's list layer used to close idle sockets after 5 s).
                await asyncio.sleep(6)

                def send_to_a() -> int:
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port_a}/api/v1/conversations/{conversation.public_id}/messages",
                        data=json.dumps({"text": "through Redis", "client_id": "k2"}).encode(),
                        headers={"Content-Type": "application/json", "Authorization": f"Bearer {knocker_token}"},
                    )
                    with urllib.request.urlopen(request, timeout=10) as response:
                        return int(response.status)

                assert await asyncio.to_thread(send_to_a) == 201
                return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))

        event = asyncio.run(scenario())
        assert event["type"] == "message.new"
        assert event["message"]["text"] == "through Redis"
        assert event["seq"] == 2


def test_a_token_revoked_on_one_process_closes_its_socket_on_the_other(tmp_path):
    """Ensure that revoking a token through process A's API closes the socket it signed in on process B with 4401,
    and that socket hears nothing more, while the same person's socket of another token on B hears the next
    message (sent through A)."""
    conversation = _a_knock()
    phone = token_issue(login="author", password=PASSWORD, client_ip="x")
    laptop = token_issue(login="author", password=PASSWORD, client_ip="x").secret
    knocker_token = token_issue(login="knocker", password=PASSWORD, client_ip="x").secret

    def call_a(method: str, path: str, token: str, body: dict | None = None) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port_a}/api/v1{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)

    with _two_processes(tmp_path) as (port_a, port_b):

        async def signed_in(token: str) -> websockets.ClientConnection:
            ws = await websockets.connect(f"ws://127.0.0.1:{port_b}/ws/", origin=f"http://127.0.0.1:{port_b}")  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await ws.recv())["type"] == "auth.ok"
            return ws

        async def scenario() -> tuple[int | None, dict]:
            phone_ws, laptop_ws = await signed_in(phone.secret), await signed_in(laptop)
            try:
                assert await asyncio.to_thread(call_a, "DELETE", f"/me/tokens/{phone.token.public_id}", laptop) == 204
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(phone_ws.recv(), timeout=10)  # closed before any event reached it
                path = f"/conversations/{conversation.public_id}/messages"
                sent = {"text": "after the revoke", "client_id": "k2"}
                assert await asyncio.to_thread(call_a, "POST", path, knocker_token, sent) == 201
                return phone_ws.close_code, json.loads(await asyncio.wait_for(laptop_ws.recv(), timeout=10))
            finally:
                await phone_ws.close()
                await laptop_ws.close()

        close_code, event = asyncio.run(scenario())
        assert close_code == 4401
        assert (event["type"], event["message"]["text"]) == ("message.new", "after the revoke")


def test_a_text_sent_from_one_process_s_loop_reaches_a_socket_on_the_other(tmp_path):
    """Ensure that a text sent over a socket on process A — stored and announced from A's event loop (no thread,
    chat/loop_send.py) — reaches the other person's socket on process B through Redis, once, in order."""
    conversation = _a_knock()
    author = conversation.participants.get(user__username="author").user
    conversation_accept(user=author, conversation=conversation)  # an active conversation: the loop's plain case
    author_token = token_issue(login="author", password=PASSWORD, client_ip="x").secret
    knocker_token = token_issue(login="knocker", password=PASSWORD, client_ip="x").secret
    with _two_processes(tmp_path) as (port_a, port_b):

        async def signed_in(port: int, token: str) -> Any:
            ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws/", origin=f"http://127.0.0.1:{port}")  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "auth", "token": token}))
            assert json.loads(await ws.recv())["type"] == "auth.ok"
            return ws

        async def scenario() -> tuple[list[dict], list[dict]]:
            on_b, on_a = await signed_in(port_b, author_token), await signed_in(port_a, knocker_token)
            answers = []
            for n in (1, 2):
                frame = {"type": "send", "conversation_id": conversation.public_id, "text": f"loop {n}"}
                await on_a.send(json.dumps({**frame, "client_id": f"w{n}"}))
                while (answer := json.loads(await asyncio.wait_for(on_a.recv(), timeout=10)))["type"] != "sent":
                    pass
                answers.append(answer)
            heard = [json.loads(await asyncio.wait_for(on_b.recv(), timeout=10)) for _ in range(2)]
            await asyncio.sleep(0.3)
            with contextlib.suppress(TimeoutError):
                heard.append(json.loads(await asyncio.wait_for(on_b.recv(), timeout=0.3)))
            await on_a.close()
            await on_b.close()
            return answers, heard

        answers, heard = asyncio.run(scenario())
        assert [(answer["created"], answer["message"]["seq"]) for answer in answers] == [(True, 2), (True, 3)]
        assert [(event["type"], event["seq"], event["message"]["text"]) for event in heard] == [
            ("message.new", 2, "loop 1"),
            ("message.new", 3, "loop 2"),
        ]
