"""A thread of its own for test set-up that announces events (async_to_sync can't run where Playwright's event loop
runs), which gives its database connection back when the work is done: a pooled PostgreSQL connection left in a
finished thread is never returned, and enough of them empty the live server's pool for the tests after."""

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connections


class OwnThread(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(1)

    def submit[**P, T](self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        def run() -> T:
            try:
                return fn(*args, **kwargs)
            finally:
                connections.close_all()

        return super().submit(run)
