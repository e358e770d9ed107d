"""uvicorn's WebSocket protocol, with one compressed frame per event shared by every socket that sends it.

uvicorn (`websockets` sans-I/O) compresses each outgoing message per socket with permessage-deflate's context
takeover: one zlib compression per socket per event, and a compressor (~32 kB) kept by every socket. For an
event that goes to 200 sockets that was 200 compressions of the same text: 38 % of the event loop's time
when a group was at its busiest (docs/performance.md, "Chat delivery").

Here the server asks for `server_no_context_takeover` (RFC 7692 §7.1.1.1: the server may require it, and
every client must accept it), so each message is compressed on its own, and the same text compressed with
the same settings is the same bytes for every socket. The finished frame is kept for the last texts sent
and written as is to every other socket that sends the same text. Messages from the client are decompressed
as before (the client keeps its context if it likes).

Serve with it: `manage.py serve` does; with uvicorn itself, `--ws core.ws_protocol:SharedFrameProtocol`.
"""

import logging
from typing import Any

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.extensions.permessage_deflate import PerMessageDeflate, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

# Settings as uvicorn's own, plus server_no_context_takeover.
WINDOW_BITS = 12
COMPRESS_SETTINGS = {"memLevel": 5}
FRAME_CACHE_SIZE = 256  # recent texts whose frame is kept: a group message reaches all its sockets well within it
FRAME_CACHE_MAX_TEXT = 64 * 1024  # longer texts are framed per socket, not kept

# (text, how the socket compresses) → the whole frame, as written to the transport; oldest first.
_frames: dict[tuple[str, tuple[int, int] | None], bytes] = {}
frame_stats = {"built": 0, "shared": 0}  # frames built, and frames written again from the cache


class SharedFrameProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.config.ws_per_message_deflate:
            factory = ServerPerMessageDeflateFactory(
                server_max_window_bits=WINDOW_BITS,
                client_max_window_bits=WINDOW_BITS,
                server_no_context_takeover=True,
                compress_settings=COMPRESS_SETTINGS,
            )
            self.conn = ServerProtocol(
                extensions=[factory], max_size=self.config.ws_max_size, logger=logging.getLogger("uvicorn.error")
            )
        self._framing: tuple[int, int] | None = None  # how this socket compresses: the key of its frames
        self._shares: bool | None = None  # whether it can take shared frames; None: not known before the handshake

    def _learn_framing(self) -> bool:
        """No extension: plain frames (key None). permessage-deflate without context takeover on the server's side,
        with our settings: (window bits, memLevel). Anything else: this socket frames its own messages."""
        extensions = self.conn.extensions
        if not extensions:
            return True
        if len(extensions) == 1 and isinstance(extensions[0], PerMessageDeflate):
            deflate = extensions[0]
            if deflate.local_no_context_takeover and deflate.compress_settings == COMPRESS_SETTINGS:
                self._framing = (deflate.local_max_window_bits, COMPRESS_SETTINGS["memLevel"])
                return True
        return False

    async def send(self, message: ASGISendEvent) -> None:
        if message["type"] == "websocket.send" and message.get("bytes") is None:
            text = message.get("text")
            await self.writable.wait()
            if (
                isinstance(text, str)
                and not self.disconnected
                and self.handshake_complete
                and self.initial_response is None
                and not self.close_sent
                and self.conn.state is State.OPEN
            ):
                if self._shares is None:
                    self._shares = self._learn_framing()
                if self._shares:
                    self.transport.write(self._frame(text, self._framing))
                    return
        await super().send(message)

    def _frame(self, text: str, framing: tuple[int, int] | None) -> bytes:
        key = (text, framing)
        frame = _frames.get(key)
        if frame is not None:
            frame_stats["shared"] += 1
            return frame
        # The socket's own extension compresses it: without context takeover that is a fresh compressor per
        # message, so the bytes depend on the text and the settings only.
        frame = Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=self.conn.extensions)
        frame_stats["built"] += 1
        if len(text) <= FRAME_CACHE_MAX_TEXT:
            if len(_frames) >= FRAME_CACHE_SIZE:
                del _frames[next(iter(_frames))]
            _frames[key] = frame
        return frame
