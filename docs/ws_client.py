"""A small example WebSocket client for same: log in for a token, connect, resume, print events, and catch up
after `resync` as docs/websocket.md says (one resume at a time per conversation, only where behind).

.venv/bin/python docs/ws_client.py --base http://127.0.0.1:8000 --login demo --password same-demo-password
"""

import argparse
import asyncio
import json
import urllib.request

import websockets


def token_for(base: str, login: str, password: str) -> str:
    request = urllib.request.Request(
        f"{base}/api/v1/auth/token",
        data=json.dumps({"login": login, "password": password, "name": "ws example"}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response)["token"])


def conversations(base: str, token: str) -> list[str]:
    request = urllib.request.Request(f"{base}/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return [item["id"] for item in json.load(response)["items"]]


async def listen(base: str, token: str) -> None:
    url = base.replace("http", "ws", 1) + "/ws/"
    held = dict.fromkeys(conversations(base, token), 0)  # the highest seq held per conversation
    asking: set[str] = set()  # a resume sent, its resume.done not yet come (ask once at a time)
    need: dict[str, int] = {}  # what a resync said a conversation reached

    async def resume(socket: websockets.ClientConnection, conversation_id: str) -> None:
        if conversation_id not in asking:
            asking.add(conversation_id)
            await socket.send(
                json.dumps({"type": "resume", "conversation_id": conversation_id, "after": held[conversation_id]})
            )

    async with websockets.connect(url, origin=base) as socket:  # type: ignore[arg-type]  # origin is a plain str here
        await socket.send(json.dumps({"type": "auth", "token": token}))
        print(await socket.recv())
        for conversation_id in held:
            await resume(socket, conversation_id)
        async for frame in socket:
            print(frame)
            event = json.loads(frame)
            conversation_id = event.get("conversation_id")
            if event["type"] == "message.new" and event["seq"] == held.get(conversation_id, -1) + 1:
                held[conversation_id] = event["seq"]  # (a real client keeps an early one for its turn)
            elif event["type"] == "resume.done":
                asking.discard(conversation_id)
                if event["more"] or held[conversation_id] < need.get(conversation_id, 0):
                    await resume(socket, conversation_id)
            elif event["type"] == "resync":
                newest = event.get("conversations")
                for conversation_id in held:
                    if newest is None:  # the server could not say (its database was away too): resume everything
                        asking.discard(conversation_id)
                        await resume(socket, conversation_id)
                    elif held[conversation_id] < newest.get(conversation_id, 0):
                        need[conversation_id] = max(need.get(conversation_id, 0), newest[conversation_id])
                        await resume(socket, conversation_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--login", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    asyncio.run(listen(args.base, token_for(args.base, args.login, args.password)))


if __name__ == "__main__":
    main()
