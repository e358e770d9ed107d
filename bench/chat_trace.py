"""Where a 1:1 text's time goes inside the server processes of bench/chat_delivery.py: the app's and the floor's.

    DATABASE_URL=… .venv/bin/python bench/chat_delivery.py … --send-over ws --phases pairs-paced --trace

With `--trace`, each server process (the app, or bench/chat_floor.py) is started through `serve()` below, which
wraps a few of its functions before uvicorn starts, so that each step of a `send` frame's way writes a wall-clock
stamp (`time.time_ns()`, one clock for every process on the machine, the client's too) under the frame's
`client_id`. The stamps stay in memory and are written to `<dir>/<pid>.tsv` when the process exits. After the
layer's run, `report()` joins them by `client_id` (the sender's process A, the recipient's process B: the same one
in memory) and prints each step's p50 and p99 in ms, for the messages of one phase:

  client → A's frame     the client's send (its clock, in the client_id) → A's consumer has the decoded frame
  A: frame → store       the frame's own work before the store's round trip (the app; the floor has none)
  A: store               the round trip to PostgreSQL (`chat.loop_send._run`)
  A: → publish           the stored message to its event handed to the layer (`core.realtime.send_to_people`;
                         the floor: its `group_send`); not in the app in memory, which hands it to the sockets
  publish → B has it     through Redis to B's hub (the floor in memory: through its layer to B's consumer)
  A: stored → B has it   the two above together (the app in memory: to the recipient socket's queue)
  B: has it → write      the recipient socket's writer takes it from its queue
  B: write               its frame compressed and written to the socket
  A: answer              the sender's own answer (`sent`) written, from the frame

The stamps' own cost (a dict look-up, a regular expression or a `json.loads` of the event, an append) is inside
the figures; a stamp is a few µs. For a split, not for the aim's ratio: compare ratios on runs without `--trace`.
"""

import atexit
import json
import os
import re
import signal
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.benchlib import out, percentile

_CLIENT_ID = re.compile(r'"client_id": ?"([^"]+)"')
_stamps: list[tuple[str, str, int]] = []


def _stamp(step: str, client_id: str) -> None:
    _stamps.append((step, client_id, time.time_ns()))


def _client_id(text: str) -> str:
    found = _CLIENT_ID.search(text)
    return found.group(1) if found else ""


def _write(directory: Path) -> None:
    lines = (f"{step}\t{client_id}\t{at}\n" for step, client_id, at in _stamps)
    (directory / f"{os.getpid()}.tsv").write_text("".join(lines))


def _wrap_send(cls: Any, own: Any) -> None:
    """Stamp `write`/`written` around a socket's `message.new` to someone other than its sender (`own(self)`: the
    socket's username), and `answer`/`answered` around a `sent` answer."""
    original = cls.send

    async def send(self: Any, text_data: str | None = None, **kwargs: Any) -> None:
        step = ""
        if text_data and '"message.new"' in text_data:
            event = json.loads(text_data)
            if event["message"]["sender"]["username"] != own(self):
                step, client_id = "write", event["message"]["client_id"]
        elif text_data and '"sent"' in text_data:
            step, client_id = "answer", _client_id(text_data)
        if step:
            _stamp(step, client_id)
        await original(self, text_data=text_data, **kwargs)
        if step:
            _stamp(f"{step}-done", client_id)

    cls.send = send


def install_app() -> None:
    """Stamp the app's steps (its modules imported, Django set up by the ASGI application's import)."""
    from chat import loop_send
    from core import realtime

    consumer = realtime.LiveConsumer
    receive_json = consumer.receive_json

    async def receive(self: Any, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "send":
            _stamp("frame", str(content.get("client_id", "")))
        await receive_json(self, content, **kwargs)

    consumer.receive_json = receive  # type: ignore[method-assign]

    run = loop_send._run

    async def store(conn: Any, plan: Any) -> Any:
        _stamp("store", plan.message.client_id)
        stored = await run(conn, plan)
        _stamp("store-done", plan.message.client_id)
        return stored

    loop_send._run = store

    send_to_people = realtime.send_to_people

    async def publish(public_ids: list[str], text: str) -> None:
        _stamp("publish", _client_id(text))
        await send_to_people(public_ids, text)

    realtime.send_to_people = publish

    push_local = realtime._push_local

    def push(public_ids: list[str], text: str) -> None:
        _stamp("push", _client_id(text))
        push_local(public_ids, text)

    realtime._push_local = push  # in memory, `core.realtime.publish` hands the event straight to it
    _wrap_send(consumer, lambda self: self.user.username if self.user is not None else "")


def install_floor() -> None:
    """Stamp the floor's steps (bench/chat_floor.py): the frame, its group_send, a socket's forward, the writes."""
    from bench import chat_floor

    floor = chat_floor.FloorConsumer
    receive = floor.receive

    async def receive_frame(self: Any, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data and '"send"' in text_data:
            _stamp("frame", _client_id(text_data))
        await receive(self, text_data=text_data, bytes_data=bytes_data)

    floor.receive = receive_frame  # type: ignore[method-assign]
    publish = chat_floor.publish

    async def publish_event(member: list[Any], conversation_id: str, data: dict[str, Any]) -> dict[str, Any]:
        client_id = str(data.get("client_id", ""))
        for step in ("store", "store-done", "publish"):  # no store: the frame's own work ends here
            _stamp(step, client_id)
        return await publish(member, conversation_id, data)

    chat_floor.publish = publish_event
    forward = floor.floor_forward

    async def forwarded(self: Any, event: dict[str, Any]) -> None:
        message = json.loads(event["text"])["message"]
        if self.member and message["sender"]["username"] != self.member[0]:  # not the sender's own copy
            _stamp("push", message["client_id"])
        await forward(self, event)

    floor.floor_forward = forwarded  # type: ignore[method-assign]
    _wrap_send(floor, lambda self: self.member[0] if self.member else "")


def serve(app: str, port: int, ws: str, directory: Path) -> None:
    """uvicorn on `app` as chat_delivery.start_server runs it, its steps stamped, the stamps written at exit."""
    import uvicorn

    atexit.register(_write, directory)

    def stopped(signum: int, frame: Any) -> None:  # uvicorn raises the signal it caught again once it has stopped
        _write(directory)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stopped)
    if app.startswith("bench.chat_floor"):
        install_floor()
    else:
        import django

        django.setup()
        from same import asgi  # noqa: F401  (the app's modules, before they are wrapped)

        install_app()
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning", ws=ws)


# --- the report (chat_delivery.py's process) ---------------------------------------------------------------------

SPANS = (
    ("client → A's frame", "sent", "frame", "A"),
    ("A: frame → store", "frame", "store", "A"),
    ("A: store (PostgreSQL)", "store", "store-done", "A"),
    ("A: → publish", "store-done", "publish", "A"),
    ("publish → B has it", "publish", "push", "B"),
    ("A: stored → B has it", "store-done", "push", "B"),
    ("B: has it → write", "push", "write", "B"),
    ("B: write", "write", "write-done", "B"),
    ("**A's frame → written on B**", "frame", "write-done", "B"),
    ("A: answer written (from the frame)", "frame", "answer-done", "A"),
)


def report(directory: Path, code: str, label: str) -> list[dict[str, Any]]:
    """Print (and return) each span's p50 / p99 in ms over the messages of phase `code` that went through every
    step. B's stamps are the ones in a process other than A's when there is one (Redis), else A's own."""
    by_id: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    for path in directory.glob("*.tsv"):
        process = path.stem
        for line in path.read_text().splitlines():
            step, client_id, at = line.split("\t")
            if client_id.startswith(f"{code}."):
                by_id[client_id][process].setdefault(step, int(at))
    spans: dict[str, list[float]] = {name: [] for name, *_ in SPANS}
    for client_id, processes in by_id.items():
        senders = [p for p, steps in processes.items() if "frame" in steps]
        if len(senders) != 1:
            continue
        a = processes[senders[0]]
        others = [steps for p, steps in processes.items() if p != senders[0] and "write-done" in steps]
        b = others[0] if others else a
        a["sent"] = int(client_id.split(".")[2])
        if "push" not in b or "write-done" not in b or "store" not in a:
            continue
        for name, start, end, where in SPANS:
            finish = (b if where == "B" else a).get(end)
            begin = (b if start in {"push", "write"} else a).get(start)
            if finish is not None and begin is not None:
                spans[name].append((finish - begin) / 1e6)
    rows = []
    count = max((len(v) for v in spans.values()), default=0)
    out(f"\n{label}, {count} messages traced (ms):\n")
    out("| step | p50 | p99 |")
    out("|---|---:|---:|")
    for name, values in spans.items():
        if values:
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            out(f"| {name} | {p50:.2f} | {p99:.2f} |")
            rows.append({"step": name, "p50_ms": p50, "p99_ms": p99, "n": len(values)})
    return rows
