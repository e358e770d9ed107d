"""The WebSocket layer's CPU per delivery, alone: uvicorn's own protocol against core.ws_protocol.SharedFrameProtocol.

    .venv/bin/python bench/ws_fanout_cpu.py --port 8690 --sockets 200 --rounds 3

Starts a uvicorn process per protocol with a bare ASGI app (no Django, no database) that, when told, sends
`--messages` distinct events of the shape and size of a chat `message.new` (~500 bytes of JSON), each to
`--fanout` sockets (a group: every socket; 1:1: two of them, in turn). A separate client process holds the
sockets (`websockets`, permessage-deflate as browsers offer it) and waits until every delivery arrived. The
figure is the server process's CPU time (user + system, /proc) over the sends, divided by the deliveries:
steadier than latency on a shared machine. Protocols alternate, `--rounds` times. Only 127.0.0.1 is contacted.
"""

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.benchlib import cpu_seconds, out  # noqa: E402

PROTOCOLS = {"uvicorn": "auto", "shared": "core.ws_protocol:SharedFrameProtocol"}


def event(n: int) -> str:
    return json.dumps(
        {
            "type": "message.new",
            "conversation_id": str(uuid.uuid4()),
            "seq": n,
            "message": {
                "id": str(uuid.uuid4()),
                "seq": n,
                "sender": {"username": f"quiet-otter-{n}"},
                "kind": "text",
                "text": f"hello there, how is the weather where you are today? {n}",
                "sticker": None,
                "audio_url": None,
                "audio_seconds": None,
                "transcript": None,
                "image": None,
                "post": None,
                "created_at": "2026-11-27T01:00:00.123456+00:00",
                "client_id": str(uuid.uuid4()),
            },
        }
    )


# --- the server: a bare ASGI app ------------------------------------------------------------------

_sends: list[Any] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":  # /healthz
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["type"] != "websocket":
        return
    await receive()
    await send({"type": "websocket.accept"})
    control = scope["path"] == "/control"
    if not control:
        _sends.append(send)
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            if send in _sends:
                _sends.remove(send)
            return
        if control:
            words = (message.get("text") or "").split()
            if words and words[0] == "go":  # go <messages> <fanout>
                messages, fanout = int(words[1]), int(words[2])
                texts = [event(n) for n in range(messages)]  # encoded before the clock: the app encodes once too
                for n, text in enumerate(texts):
                    targets = (
                        _sends
                        if fanout >= len(_sends)
                        else [_sends[(n * fanout + i) % len(_sends)] for i in range(fanout)]
                    )
                    for target in targets:
                        await target({"type": "websocket.send", "text": text})
                await send({"type": "websocket.send", "text": "sent"})


def serve(protocol: str, port: int) -> None:
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=port, ws=PROTOCOLS[protocol], log_level="warning", lifespan="off")


# --- the client -----------------------------------------------------------------------------------


async def measure(port: int, sockets: int, messages: int, fanout: int, pid: int) -> tuple[float, int]:
    from websockets.asyncio.client import connect

    received = 0
    done = asyncio.Event()
    expected = messages * min(fanout, sockets)

    async def listen(ws: Any) -> None:
        nonlocal received
        async for _frame in ws:
            received += 1
            if received >= expected:
                done.set()

    clients = [await connect(f"ws://127.0.0.1:{port}/s", compression="deflate", max_queue=None) for _ in range(sockets)]
    control = await connect(f"ws://127.0.0.1:{port}/control", compression="deflate")
    tasks = [asyncio.create_task(listen(ws)) for ws in clients]
    await asyncio.sleep(1.0)
    before = cpu_seconds(pid)
    await control.send(f"go {messages} {fanout}")
    await asyncio.wait_for(done.wait(), 600)
    await asyncio.wait_for(control.recv(), 60)
    spent = cpu_seconds(pid) - before
    for task in tasks:
        task.cancel()
    for ws in [*clients, control]:
        with contextlib.suppress(Exception):
            await ws.close()
    return spent, received


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the server did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8690)
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--group-messages", type=int, default=200, help="messages to every socket")
    parser.add_argument("--pair-messages", type=int, default=2000, help="messages to two sockets each")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=PROTOCOLS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.port)
        return
    rows = []
    for round_ in range(1, args.rounds + 1):
        for protocol in PROTOCOLS:
            server = subprocess.Popen(
                [sys.executable, __file__, "--serve", protocol, "--port", str(args.port)],
                cwd=ROOT,
                start_new_session=True,
            )
            try:
                wait_up(args.port)
                for case, messages, fanout in (
                    ("group", args.group_messages, args.sockets),
                    ("1:1", args.pair_messages, 2),
                ):
                    load = os.getloadavg()[0]
                    spent, received = asyncio.run(measure(args.port, args.sockets, messages, fanout, server.pid))
                    rows.append((round_, protocol, case, received, spent * 1e6 / received, load, os.getloadavg()[0]))
            finally:
                os.killpg(server.pid, signal.SIGTERM)
                server.wait(timeout=30)
    out("| round | protocol | case | deliveries | server CPU µs per delivery | load |")
    out("|---:|---|---|---:|---:|---:|")
    for round_, protocol, case, received, per, load_before, load_after in rows:
        out(f"| {round_} | {protocol} | {case} | {received:,} | {per:.1f} | {load_before:.2f} → {load_after:.2f} |")


if __name__ == "__main__":
    main()
