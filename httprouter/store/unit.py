"""The router's writes: units of work, the backend and connection id cache, message rows.

Everything one inbound message causes happens in one unit of work (one transaction): the inbound
row, the apps' replies and the status history are committed together. A unit opened while one is
open (an app's `send` inside a receive) joins it. After a commit that queued messages for a push
backend, the listeners (the dispatchers' wake-up) are called.

Statements are built once: building and cache-keying a statement per call cost more CPU than the
rest of a receive (bench/README.md). Values travel as parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select, update

from .. import clock
from ..domain.messages import StoredMessage
from ..domain.statuses import INCOMING
from .engine import DIALECTS, insert_or_skip, translate_errors
from .history import history_row
from .rows import select_messages, stored_message
from .schema import backends, connections, messages, status_changes
from .tokens import load_signing_key

log = logging.getLogger(__name__)

ID_CACHE_LIMIT = 100_000  # backend and connection ids kept in memory

_INSERT_MESSAGE = insert(messages).returning(messages.c.id)
# The inbound row: a repeat of (backend, gateway id) inserts nothing and returns no id.
_INSERT_INBOUND = {d: insert_or_skip(messages, d).returning(messages.c.id) for d in DIALECTS}
_SET_ERRORS = (
    update(messages)
    .where(messages.c.id == bindparam("message_id"))
    .values(updated_at=bindparam("done"), error=bindparam("errors"))
)
# RETURNING makes SQLAlchemy send a unit's history rows as one multi-row INSERT.
_INSERT_HISTORY = insert(status_changes).returning(status_changes.c.id)
_FIND_BACKEND = select(backends.c.id).where(backends.c.name == bindparam("name"))
_FIND_CONNECTION = select(connections.c.id).where(
    connections.c.backend_id == bindparam("backend_id"),
    connections.c.identity == bindparam("identity"),
)
_CREATE = {
    table.name: {d: insert_or_skip(table, d).returning(table.c.id) for d in DIALECTS}
    for table in (backends, connections)
}
_FIND_INBOUND = select_messages().where(
    messages.c.backend_id == bindparam("backend_id"),
    messages.c.external_id == bindparam("external_id"),
    messages.c.direction == INCOMING,
)
_REPLIES = (
    select_messages()
    .where(messages.c.in_response_to_id == bindparam("parent"))
    .order_by(messages.c.id)
)
_ONE = select_messages().where(messages.c.id == bindparam("message_id"))


@dataclass
class Unit:
    """One unit of work: its connection, history rows to write, ids it created, and whether it
    queued messages for a push backend."""

    conn: Connection
    history: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[Any, int] = field(default_factory=dict)
    pushed: bool = False

    def record(
        self,
        message_id: int,
        old: str | None,
        new: str,
        cause: str,
        at: Any,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Add a history entry, written with the others at the end of the unit."""
        self.history.append(history_row(message_id, old, new, cause, at, detail))


class Store:
    """The database side of one router."""

    def __init__(self, engine: Engine, secret_key: str | None = None) -> None:
        self.engine = engine
        self._secret_key = secret_key
        self._signing_key: bytes | None = None
        self._ids: dict[Any, int] = {}
        self._unit: ContextVar[Unit | None] = ContextVar(
            f"httprouter_unit_{id(self)}", default=None
        )
        self._pushed_listeners: list[Callable[[], None]] = []

    @property
    def signing_key(self) -> bytes:
        """The key for signed per-message tokens (SECRET_KEY, or one kept in the database)."""
        if self._signing_key is None:
            self._signing_key = load_signing_key(self.engine, self._secret_key)
        return self._signing_key

    def on_push_queued(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every commit that queued messages for a push backend."""
        self._pushed_listeners.append(callback)

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """A unit of work: one transaction, committed when the block ends (joined if open)."""
        current = self._unit.get()
        if current is not None:
            yield current
            return
        with translate_errors(), self.engine.connect() as conn:
            unit = Unit(conn)
            token = self._unit.set(unit)
            try:
                with conn.begin():
                    yield unit
                    if unit.history:
                        conn.execute(_INSERT_HISTORY, unit.history)
                        unit.history.clear()
            finally:
                self._unit.reset(token)
        if len(self._ids) > ID_CACHE_LIMIT:
            self._ids.clear()
        self._ids.update(unit.cache)
        if unit.pushed:
            for callback in self._pushed_listeners:
                try:
                    callback()
                except Exception:
                    log.exception("push listener failed")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only connection (SQLite readers do not take the write lock)."""
        with translate_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(readonly=True)
            with conn.begin():
                yield conn

    def read_message(self, message_id: int) -> StoredMessage | None:
        """One message, or None if there is no such id."""
        with self.read() as conn:
            row = conn.execute(_ONE, {"message_id": message_id}).first()
        return stored_message(row._mapping) if row is not None else None

    # -- ids ----------------------------------------------------------------------------------

    def backend_id(self, unit: Unit, name: str) -> int:
        """The id of backend `name`, created if new."""
        return self._get_or_create(unit, ("backend", name), backends, _FIND_BACKEND, {"name": name})

    def connection_id(self, unit: Unit, backend_id: int, identity: str) -> int:
        """The id of `identity` on a backend, created if new."""
        return self._get_or_create(
            unit,
            ("connection", backend_id, identity),
            connections,
            _FIND_CONNECTION,
            {"backend_id": backend_id, "identity": identity},
        )

    def _get_or_create(
        self, unit: Unit, key: Any, table: Any, find: Any, values: dict[str, Any]
    ) -> int:
        cached = self._ids.get(key) or unit.cache.get(key)
        if cached is not None:
            return cached
        conn = unit.conn
        # Insert first: a new sender costs one statement; a known one not cached yet, two.
        row = {**values, "created_at": clock.now()}
        created = conn.execute(_CREATE[table.name][conn.dialect.name], row).scalar()
        if created is not None:
            unit.cache[key] = int(created)  # ours only once committed
            return int(created)
        found: int = conn.execute(find, values).scalar_one()
        self._ids[key] = found
        return found

    # -- message rows -------------------------------------------------------------------------

    def insert_inbound(self, unit: Unit, row: dict[str, Any]) -> int | None:
        """Insert an inbound row; None when its (backend, gateway id) is stored already."""
        conn = unit.conn
        stmt = _INSERT_INBOUND[conn.dialect.name] if row.get("external_id") else _INSERT_MESSAGE
        return conn.execute(stmt, row).scalar()

    def insert_message(self, unit: Unit, row: dict[str, Any]) -> int:
        """Insert a message row; return its id."""
        message_id: int = unit.conn.execute(_INSERT_MESSAGE, row).scalar_one()
        return message_id

    def set_errors(self, unit: Unit, message_id: int, done: Any, errors: str) -> None:
        """Record the apps' errors on a message."""
        unit.conn.execute(_SET_ERRORS, {"message_id": message_id, "done": done, "errors": errors})

    def find_inbound(
        self, unit: Unit, backend_id: int, external_id: str
    ) -> tuple[StoredMessage, list[StoredMessage]] | None:
        """The inbound message stored for (backend, gateway id), with its replies."""
        conn = unit.conn
        found = conn.execute(
            _FIND_INBOUND, {"backend_id": backend_id, "external_id": external_id}
        ).first()
        if found is None:
            return None
        replies = conn.execute(_REPLIES, {"parent": found.id}).all()
        return stored_message(found._mapping), [stored_message(r._mapping) for r in replies]
