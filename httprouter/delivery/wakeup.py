"""Waking an idle dispatcher when a push message is committed, in whichever process it was.

PostgreSQL: the committing process sends `NOTIFY httprouter_push`; dispatchers LISTEN on a
connection of their own. SQLite (every writer is on this host): dispatchers watch
`PRAGMA data_version`, which changes whenever another connection commits; reading it costs a
few microseconds and takes no lock, so it is checked every 100 ms. Either way a dispatcher in
the same process as the router is also woken directly.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from ..store.engine import is_sqlite, notify

log = logging.getLogger(__name__)

CHANNEL = "httprouter_push"
SQLITE_CHECK_SECONDS = 0.1


def notify_push(engine: Engine) -> None:
    """Tell every listening dispatcher that push messages were committed (PostgreSQL only)."""
    if not is_sqlite(engine):
        notify(engine, CHANNEL)


def install_notifier(router: Any) -> None:
    """Make `router` wake the dispatchers after each commit that queued push messages."""
    if not is_sqlite(router.engine):
        router.on_push_queued(lambda: notify_push(router.engine))


class Waker:
    """Sleep until push work may have arrived: a commit elsewhere, a poke, or a timeout."""

    def __init__(self, engine: Engine) -> None:
        self.url = engine.url
        self.sqlite = is_sqlite(engine)
        self._event = threading.Event()
        self._conn: Any = None
        self._version: int | None = None
        self._driver_error: type[Exception] = sqlite3.Error
        if not self.sqlite:
            import psycopg  # only here: a process on SQLite never needs the driver

            self._driver_error = psycopg.Error

    def poke(self) -> None:
        """Wake the sleeper now (from this process)."""
        self._event.set()

    def wait(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Sleep up to `timeout` seconds; tell whether something woke us before that."""
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            if self._event.is_set() or (stop is not None and stop.is_set()):
                self._event.clear()
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            step = min(remaining, SQLITE_CHECK_SECONDS if self.sqlite else 0.25)
            try:
                if self._signalled(step):
                    return True
            except self._driver_error as exc:
                log.warning("wake-up channel lost (%s); polling", type(exc).__name__)
                self.close()
                time.sleep(step)

    def open(self) -> None:
        """Start listening (before looking for work, so no commit in between is missed)."""
        if self._conn is not None:
            return
        if self.sqlite:
            self._conn = sqlite3.connect(self.url.database or "", timeout=1)
            self._version = self._data_version()
            return
        import psycopg

        url = make_url(self.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        self._conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
        self._conn.execute(f"LISTEN {CHANNEL}")

    def _signalled(self, step: float) -> bool:
        self.open()
        if self.sqlite:
            time.sleep(step)
            version = self._data_version()
            changed = version != self._version
            self._version = version
            return changed
        return any(True for _ in self._conn.notifies(timeout=step, stop_after=1))

    def _data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        """Close the listening connection."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # closing a broken connection may fail; it is gone either way
                log.debug("closing the wake-up connection failed", exc_info=True)
            self._conn = None
