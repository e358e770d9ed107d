"""A small HTTP/1.1 keep-alive client on asyncio streams, for the load and fault scripts (no extra package)."""

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

IDLE_REOPEN = 4.0  # seconds: a connection idle longer is opened afresh before the next request


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Http:
    """One keep-alive connection to 127.0.0.1:port. Not for concurrent use: one request at a time."""

    def __init__(self, port: int, *, timeout: float = 30.0) -> None:
        self.port = port
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.used_at = 0.0

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
        retry_closed: bool = True,
    ) -> Answer:
        """Send and read the answer. A keep-alive connection the server had closed is reopened once, when
        `retry_closed` (callers say so only for requests that are safe to send twice)."""
        body = b"" if json_body is None else json.dumps(json_body).encode()
        extra = dict(headers or {})
        if token:
            extra["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            extra["Content-Type"] = "application/json"
        for attempt in range(2):
            fresh = self.writer is None
            try:
                async with asyncio.timeout(self.timeout):
                    return await self._once(method, path, extra, body)
            except (ConnectionError, asyncio.IncompleteReadError, IndexError, ValueError):
                self.close()
                if fresh or not retry_closed or attempt:
                    raise
            except TimeoutError:
                self.close()
                raise
        raise ConnectionError("unreachable")

    async def _once(self, method: str, path: str, extra: dict[str, str], body: bytes) -> Answer:
        if time.monotonic() - self.used_at > IDLE_REOPEN:
            self.close()  # the server may be closing it right now (uvicorn keeps idle connections 5 s)
        self.used_at = time.monotonic()
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in extra.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed before answering")
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        content = b""
        if "content-length" in headers:
            content = await self.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            chunks = []
            while (size := int((await self.reader.readline()).strip(), 16)) > 0:
                chunks.append(await self.reader.readexactly(size))
                await self.reader.readline()
            await self.reader.readline()
            content = b"".join(chunks)
        if headers.get("connection") == "close":
            self.close()
        self.used_at = time.monotonic()
        return Answer(int(status_line.split()[1]), headers, content)
