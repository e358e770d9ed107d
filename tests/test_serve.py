"""`manage.py serve` takes its task worker down with it: on Ctrl+C, and on SIGTERM (systemd, Docker, the benches)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the worker through /proc")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embedded default's SQLite database, migrated (the worker needs its tasks table)."""
    var = tmp_path_factory.mktemp("serve-var")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0"], cwd=ROOT, env=_env(var), check=True
    )
    return var


def _env(var: Path) -> dict[str, str]:
    env = {**os.environ, "SAME_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "same.settings"}
    for name in ("DATABASE_URL", "REDIS_URL", "DEBUG", "SAME_TESTING"):
        env.pop(name, None)
    return env


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_serve_stops_its_worker(var_dir: Path, stop: signal.Signals) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=_env(var_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.2)
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        assert len(children) == 1, children
        worker = int(children[0])
        time.sleep(1)
        assert _alive(worker), "the worker should be running beside the server"

        server.send_signal(stop)
        status = server.wait(timeout=30)
        if stop == signal.SIGTERM:
            assert status == 0, "a stop that was asked for is a clean exit"
        deadline = time.monotonic() + 15
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), f"the task worker outlived the server stopped by {stop.name}"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if worker is not None and _alive(worker):
            os.kill(worker, signal.SIGKILL)
