"""Engines: SQLite (WAL, busy timeout, durable commits, write transactions that begin IMMEDIATE)
and PostgreSQL (psycopg 3), created from DATABASE_URL."""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from ..errors import StorageUnavailable

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
PING_AFTER_IDLE_SECONDS = 1.0  # PostgreSQL connections idle this long are checked before use


def normalize_url(url: str) -> str:
    """Make plain postgres URLs use the psycopg 3 driver that httprouter installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    """Tell whether an engine or URL is SQLite."""
    url = engine_or_url if isinstance(engine_or_url, str) else str(engine_or_url.url)
    return make_url(url).get_backend_name() == "sqlite"


# The dialects httprouter runs on, each with its INSERT that takes ON CONFLICT.
_INSERTS: dict[str, Callable[[Table], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
DIALECTS = tuple(_INSERTS)


def insert_or_skip(table: Table, dialect: str) -> Any:
    """Return `INSERT … ON CONFLICT DO NOTHING` into `table` for `dialect` (one of DIALECTS).

    A row that would break a unique constraint is skipped instead of raising (with RETURNING, no
    row comes back). Pass `conn.dialect.name`, or build one statement per dialect ahead of time.
    """
    return _INSERTS[dialect](table).on_conflict_do_nothing()


def notify(engine: Engine, channel: str) -> None:
    """Send PostgreSQL's NOTIFY on `channel` (with no payload) in a transaction of its own."""
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
        conn.commit()


class WriteGate:
    """Hands SQLite's single write lock to one writer at a time, in turn, across processes.

    SQLite's own busy handler polls with sleeps of up to 100 ms, so under a steady stream of
    writes from one process another process can lose every race until its busy timeout runs out
    ("database is locked"). Writers here queue on a thread lock within the process and on an
    exclusive flock() of `<database>.lock` across processes; the kernel wakes a waiter the moment
    the holder lets go.
    """

    def __init__(self, database: str) -> None:
        self.path = database + ".lock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self) -> None:
        """Wait for the write turn (as long as SQLite's busy timeout, then fail as it would)."""
        if not self._thread_lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked (no write turn within the timeout)")
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def close(self) -> None:
        """Close the lock file (the engine was disposed)."""
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd = None

    def release(self) -> None:
        """Give the write turn to the next writer."""
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


class _GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that gives back the write turn when its transaction ends."""

    gate: WriteGate | None = None
    holding = False

    def take_turn(self) -> None:
        if self.gate is not None and not self.holding:
            self.gate.acquire()
            self.holding = True

    def give_turn(self) -> None:
        if self.holding and self.gate is not None:
            self.holding = False
            self.gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.give_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.give_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.give_turn()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create the engine for `url` with the settings httprouter relies on."""
    url = normalize_url(url)
    if is_sqlite(url):
        engine = create_engine(
            url,
            connect_args={
                "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                "check_same_thread": False,
                "factory": _GatedConnection,
            },
            **kwargs,
        )
        database = make_url(url).database
        gate = WriteGate(database) if database and database != ":memory:" else None
        _configure_sqlite(engine, gate)
        if gate is not None:
            event.listen(engine, "engine_disposed", lambda _engine: gate.close())
        return engine
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    kwargs.setdefault("pool_recycle", 1800)
    kwargs.setdefault("connect_args", {"connect_timeout": 5})
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Check a pooled connection before use if it sat idle PING_AFTER_IDLE_SECONDS or more.

    A server restart or a dropped network leaves dead connections in the pool; a ping finds
    them and the pool replaces them, so the next request does not fail. Pinging on every
    checkout (SQLAlchemy's pool_pre_ping) costs a round trip per request; a connection that was
    in use a moment ago is alive as far as a ping could tell, so it is not pinged.
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()
        except Exception as exc:  # the pool discards the connection and connects again
            raise DisconnectionError(f"pooled connection is dead: {type(exc).__name__}") from exc


def _configure_sqlite(engine: Engine, gate: WriteGate | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so the driver must not.
        dbapi_conn.isolation_level = None
        dbapi_conn.gate = gate
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front: a deferred transaction that read first and then
        # writes can fail with "database is locked" without waiting for the busy timeout.
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        dbapi_conn.take_turn()  # type: ignore[union-attr]
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            dbapi_conn.give_turn()  # type: ignore[union-attr]
            raise


def is_unavailable(exc: BaseException) -> bool:
    """Tell whether a database error means 'cannot reach or lock the database right now'."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn 'database unreachable' errors into StorageUnavailable (HTTP 503)."""
    try:
        yield
    except DBAPIError as exc:
        if is_unavailable(exc):
            log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
            raise StorageUnavailable("database unavailable, try again later") from exc
        raise
