"""Chromium takes the server's permessage-deflate terms (server_no_context_takeover, core/ws_protocol.py): the
socket opens compressed and reads what the server sends, the same frames every other socket gets."""

import json

from tests.factories import make_user

OPEN_SOCKETS = """async (count) => {
    const url = location.origin.replace(/^http/, "ws") + "/ws/";
    const open = () => new Promise((resolve, reject) => {
        const socket = new WebSocket(url);
        socket.onmessage = (event) => resolve({extensions: socket.extensions, first: event.data});
        socket.onerror = () => reject(new Error("the socket failed"));
    });
    return Promise.all(Array.from({length: count}, open));
}"""


def test_chromium_opens_compressed_sockets_and_reads_the_shared_frames(asgi_live_server, signed_in):
    person = make_user(username="quietfox")
    page = signed_in(person)
    page.goto("/")
    sockets = page.evaluate(OPEN_SOCKETS, 3)
    for socket in sockets:
        assert "permessage-deflate" in socket["extensions"]
        assert "server_no_context_takeover" in socket["extensions"]
        assert json.loads(socket["first"]) == {"type": "auth.ok", "username": "quietfox"}
