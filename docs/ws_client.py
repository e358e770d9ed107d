"""A small example WebSocket client for same: log in for a token, connect, resume, print events.

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
    async with websockets.connect(url, origin=base) as socket:  # type: ignore[arg-type]  # origin is a plain str here
        await socket.send(json.dumps({"type": "auth", "token": token}))
        print(await socket.recv())
        for conversation_id in conversations(base, token):
            await socket.send(json.dumps({"type": "resume", "conversation_id": conversation_id, "after": 0}))
        async for frame in socket:
            print(frame)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--login", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()
    asyncio.run(listen(args.base, token_for(args.base, args.login, args.password)))


if __name__ == "__main__":
    main()
