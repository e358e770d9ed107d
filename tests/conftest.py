import asyncio
import email
import email.policy
import gc
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller
from django.core.cache import cache
from django.utils import translation

from core import loop_db
from tests.factories import PASSWORD, make_user


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    # Rate-limit counters live in the cache: every test starts from zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _loop_connections_closed() -> Iterator[None]:
    # The event loop's own PostgreSQL connections (core/loop_db.py) outlive each test's loop: closed after every
    # test, so none is left open when the test database is dropped.
    yield
    loop_db.close_all()


@pytest.fixture(scope="session", autouse=True)
def _pools_closed_before_the_test_database_goes(django_db_setup: None) -> Iterator[None]:
    # The pool's idle connections (psycopg_pool, shared by every thread) would keep the test database from being
    # dropped at the end ("being accessed by other users"): closed first (this teardown runs before the drop).
    yield
    from asgiref.sync import SyncToAsync
    from django.db import connections

    # The thread asgiref runs thread-sensitive calls in, outside a request, may still hold one (not returned yet).
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
    connections.close_all()  # this thread's too: back to the pool, which closes them all below
    for wrapper in connections.all():
        close_pool = getattr(wrapper, "close_pool", None)
        if close_pool is not None:
            close_pool()
    gc.collect()  # a connection that a finished thread took from the pool and never gave back closes when collected
    _let_go_of_the_test_database()


def _let_go_of_the_test_database() -> None:
    """End any session still on the PostgreSQL test database: one held by a live thread of an executor that ran its
    last call long ago (seen: a `resume`'s read, in one xdist worker in twenty) is neither in the pool nor
    collectable, and Django's drop would fail on it. Ended from a connection of its own, opened for this."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    # A request leaves its person's language active on the test's thread (Django activates one per
    # request and never deactivates it): a service called directly in the next test would speak Chinese.
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return make_user(username="maple", email="maple@example.org")


@pytest.fixture
def immediate_tasks(settings):
    """Run tasks as they are enqueued (the Immediate backend), for tests that need their effect."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: email.message.EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    def link(self, path_prefix: str) -> str:
        match = re.search(r"https?://\S+" + re.escape(path_prefix) + r"\S+", self.body)
        assert match, f"no {path_prefix} link in: {self.body}"
        return match.group(0)


@dataclass
class SmtpServer:
    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._arrived:
            self.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> list[ReceivedMail]:
        def mine() -> list[ReceivedMail]:
            return [m for m in self.messages if to in m.recipients]

        with self._arrived:
            self._arrived.wait_for(lambda: len(mine()) >= count, timeout=timeout)
        found = mine()
        assert len(found) >= count, f"expected {count} email(s) to {to}, got {len(found)}"
        return found

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.messages if address in m.recipients]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server(settings) -> Iterator[SmtpServer]:
    """A real SMTP server on 127.0.0.1; the app is configured to send to it."""
    server = SmtpServer(host="127.0.0.1", port=_free_port())
    controller = Controller(server, hostname=server.host, port=server.port, loop=asyncio.new_event_loop())
    controller.start()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": server.host, "port": server.port, "use_tls": False, "use_ssl": False, "timeout": 5},
        }
    }
    try:
        yield server
    finally:
        controller.stop()
