"""The router core: receive → phases → responses; send; lookup_connections. No Flask here.

Everything one inbound message causes happens in one database transaction: the inbound row, the
apps' phases, the replies and the status history are committed together, before the gateway gets
its answer. A crash before the commit leaves nothing behind, so the gateway's retry starts clean.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Connection as DBConnection
from sqlalchemy import Engine, bindparam, insert, select, update

from . import clock
from .apps import AppBase, run_incoming, run_outgoing
from .domain.identities import NORMALIZERS
from .domain.messages import Connection, IncomingMessage, OutgoingMessage
from .domain.statuses import CANCELLED, HANDLED, INCOMING, OUTGOING, PROCESSING, QUEUED, RECEIVED
from .errors import StorageUnavailable, ValidationError
from .logsetup import log_context
from .store import metrics
from .store.engine import DIALECTS, insert_or_skip, translate_errors
from .store.history import history_row
from .store.rows import message_json, select_messages
from .store.schema import backends, connections, messages, status_changes
from .store.tokens import load_signing_key

log = logging.getLogger(__name__)

MAX_BACKEND_LENGTH = 100
MAX_IDENTITY_LENGTH = 200
MAX_EXTERNAL_ID_LENGTH = 255
_ID_CACHE_LIMIT = 100_000  # backend and connection ids kept in memory

# Statements built once: building and cache-keying a statement per call cost more CPU than the
# rest of a receive (bench/README.md). Values travel as parameters.
_INSERT_MESSAGE = insert(messages).returning(messages.c.id)


def _insert_or_skip(table: Any) -> dict[str, Any]:
    """Per dialect: INSERT … ON CONFLICT DO NOTHING RETURNING id (no row when it conflicted)."""
    return {name: insert_or_skip(table, name).returning(table.c.id) for name in DIALECTS}


# The inbound row: a repeat of (backend, gateway id) inserts nothing and returns no id.
_INSERT_INBOUND = _insert_or_skip(messages)
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
_CREATE = {table.name: _insert_or_skip(table) for table in (backends, connections)}


class Gateways(Protocol):
    """What the router asks of the backends' engines: are a backend's messages pushed?"""

    def pushes(self, name: str) -> bool:
        """True: the dispatcher pushes `name`'s messages; False: they wait for a poller."""
        ...


class _AllPulled:
    """No engines: every message waits in the outbox."""

    def pushes(self, name: str) -> bool:
        return False


@dataclass
class ReceiveResult:
    """What `Router.receive` stored: the inbound message and its replies, as JSON."""

    message: dict[str, Any]
    responses: list[dict[str, Any]]
    duplicate: bool = False


@dataclass
class _Tx:
    """One unit of work: its connection, history rows to write, and what to do after commit."""

    conn: DBConnection
    history: list[dict[str, Any]] = field(default_factory=list)
    cache: dict[Any, int] = field(default_factory=dict)
    pushed: bool = False


class Router:
    """Stores and routes messages for one database and one list of apps."""

    def __init__(
        self,
        engine: Engine,
        config: dict[str, Any],
        apps: Sequence[AppBase] | None = None,
        gateways: Gateways | None = None,
    ) -> None:
        self.engine = engine
        self.config = config
        self.gateways: Gateways = gateways if gateways is not None else _AllPulled()
        self.normalize_identity = NORMALIZERS[config["IDENTITY_NORMALIZER"]]
        self.apps: list[AppBase] = list(apps or [])
        self._ids: dict[Any, int] = {}
        self._queued_listeners: list[Callable[[], None]] = []
        self._tx: ContextVar[_Tx | None] = ContextVar(f"httprouter_tx_{id(self)}", default=None)
        self._signing_key: bytes | None = None

    @property
    def signing_key(self) -> bytes:
        """The key for signed per-message tokens (SECRET_KEY, or one kept in the database)."""
        if self._signing_key is None:
            self._signing_key = load_signing_key(self.engine, self.config.get("SECRET_KEY"))
        return self._signing_key

    # -- public API ---------------------------------------------------------------------------

    def on_push_queued(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every commit that queued messages for a push backend."""
        self._queued_listeners.append(callback)

    def lookup_connections(self, backend: str, identities: Iterable[str]) -> list[Connection]:
        """Return the connections for `identities` on `backend`, creating those that are new."""
        with self._unit_of_work() as tx:
            backend_id = self._backend_id(tx, self._check_backend(backend))
            result = []
            for raw in identities:
                identity = self._identity(raw, "identities")
                result.append(
                    Connection(backend, identity, self._connection_id(tx, backend_id, identity))
                )
            return result

    def receive(
        self,
        text: str,
        connection: Connection | tuple[str, str],
        *,
        external_id: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> ReceiveResult:
        """Store an inbound message, run the apps over it and store their replies, atomically.

        With `external_id` (the gateway's id) a repeat of the same (backend, id) returns the
        first result without running any app again.
        """
        connection = _as_connection(connection)
        backend = self._check_backend(connection.backend)
        identity = self._identity(connection.identity, "sender")
        if external_id is not None and len(external_id) > MAX_EXTERNAL_ID_LENGTH:
            raise ValidationError(
                f"id is longer than {MAX_EXTERNAL_ID_LENGTH} characters", field="id"
            )
        with self._unit_of_work() as tx:
            backend_id = self._backend_id(tx, backend)
            connection_id = self._connection_id(tx, backend_id, identity)
            result = self._receive(
                tx,
                text,
                Connection(backend, identity, connection_id),
                backend_id,
                external_id,
                fields or {},
            )
            if result is None and external_id is not None:
                # A repeat of a gateway id (maybe committed a moment ago by a concurrent
                # request): answer with what the first one stored.
                result = self._find_inbound(tx.conn, backend_id, external_id)
        if result is None:
            raise StorageUnavailable("the first copy of this message is not readable yet")
        return result

    def send(
        self,
        text: str,
        connections_: Iterable[Connection | tuple[str, str]],
        *,
        priority: int = 0,
        fields: dict[str, Any] | None = None,
    ) -> list[OutgoingMessage]:
        """Create one outbound message per connection, run the outgoing phase, queue them.

        Inside an app's hook this joins the inbound message's transaction.
        """
        with self._unit_of_work() as tx:
            out = []
            for item in connections_:
                conn = _as_connection(item)
                backend = self._check_backend(conn.backend)
                identity = self._identity(conn.identity, "to")
                backend_id = self._backend_id(tx, backend)
                connection = Connection(
                    backend, identity, self._connection_id(tx, backend_id, identity)
                )
                msg = OutgoingMessage(
                    text=text, connection=connection, priority=priority, fields=dict(fields or {})
                )
                self._store_outgoing(tx, msg, backend_id, [])
                out.append(msg)
            return out

    def message_json(self, message_id: int) -> dict[str, Any] | None:
        """Return one message as JSON, or None if there is no such id."""
        with self.read() as conn:
            row = conn.execute(select_messages().where(messages.c.id == message_id)).first()
        return message_json(row._mapping) if row is not None else None

    @contextmanager
    def read(self) -> Iterator[DBConnection]:
        """A read-only connection (SQLite readers do not take the write lock)."""
        with translate_errors(), self.engine.connect() as conn:
            conn = conn.execution_options(readonly=True)
            with conn.begin():
                yield conn

    # -- units of work ------------------------------------------------------------------------

    @contextmanager
    def _unit_of_work(self) -> Iterator[_Tx]:
        current = self._tx.get()
        if current is not None:
            yield current
            return
        with translate_errors(), self.engine.connect() as conn:
            tx = _Tx(conn)
            token = self._tx.set(tx)
            try:
                with conn.begin():
                    yield tx
                    self._flush_history(tx)
            finally:
                self._tx.reset(token)
        if len(self._ids) > _ID_CACHE_LIMIT:
            self._ids.clear()
        self._ids.update(tx.cache)
        if tx.pushed:
            for callback in self._queued_listeners:
                try:
                    callback()
                except Exception:
                    log.exception("push listener failed")

    def _flush_history(self, tx: _Tx) -> None:
        if tx.history:
            tx.conn.execute(_INSERT_HISTORY, tx.history)
            tx.history.clear()

    # -- the inbound path ---------------------------------------------------------------------

    def _receive(
        self,
        tx: _Tx,
        text: str,
        connection: Connection,
        backend_id: int,
        external_id: str | None,
        fields: dict[str, Any],
    ) -> ReceiveResult | None:
        """Store and handle one inbound message; None if its gateway id was already stored."""
        started = time.perf_counter()
        now = clock.now()
        # Stored as handled at once: the unit of work is one transaction, so nobody can see it
        # before the apps have run; the history still records the move from R to H.
        row = {
            "direction": INCOMING,
            "status": HANDLED,
            "text": text,
            "connection_id": connection.id,
            "backend_id": backend_id,
            "external_id": external_id,
            "fields": fields or None,
            "created_at": now,
            "updated_at": now,
            "priority": 0,
            "attempts": 0,
        }
        stmt = _INSERT_INBOUND[tx.conn.dialect.name] if external_id is not None else _INSERT_MESSAGE
        message_id = tx.conn.execute(stmt, row).scalar()
        if message_id is None:
            return None
        row["id"] = message_id
        self._record(tx, message_id, None, RECEIVED, "received", now)

        msg = IncomingMessage(
            text=text,
            connection=connection,
            id=message_id,
            external_id=external_id,
            received_at=now,
            fields=dict(fields),
        )
        with log_context(backend=connection.backend, message_id=message_id):
            run_incoming(self.apps, msg)

        done = clock.now()
        detail: dict[str, Any] = {}
        if msg.handled_by:
            detail["handled_by"] = msg.handled_by
        if msg.filtered_by:
            detail["filtered_by"] = msg.filtered_by
        if msg.errors:
            detail["errors"] = list(msg.errors)
        self._record(tx, message_id, RECEIVED, HANDLED, "apps", done, detail or None)

        responses = []
        for reply in msg.responses:
            reply_backend_id = backend_id
            if reply.connection != connection:
                reply_backend_id = self._backend_id(tx, reply.connection.backend)
                reply.connection = Connection(
                    reply.connection.backend,
                    reply.connection.identity,
                    self._connection_id(tx, reply_backend_id, reply.connection.identity),
                )
            responses.append(self._store_outgoing(tx, reply, reply_backend_id, msg.errors))

        # Errors (of the apps, and of outgoing hooks) are written once the replies are stored.
        error = "; ".join(msg.errors) or None
        if error is not None:
            tx.conn.execute(_SET_ERRORS, {"message_id": message_id, "done": done, "errors": error})
            row.update(updated_at=done, error=error)

        row.update(backend=connection.backend, identity=connection.identity)
        metrics.after_commit(
            tx.conn,
            lambda: metrics.observe_receive(connection.backend, time.perf_counter() - started),
        )
        return ReceiveResult(message_json(row), responses)

    def _find_inbound(
        self, conn: DBConnection, backend_id: int, external_id: str
    ) -> ReceiveResult | None:
        found = conn.execute(
            select_messages().where(
                messages.c.backend_id == backend_id,
                messages.c.external_id == external_id,
                messages.c.direction == INCOMING,
            )
        ).first()
        if found is None:
            return None
        replies = conn.execute(
            select_messages()
            .where(messages.c.in_response_to_id == found.id)
            .order_by(messages.c.id)
        ).all()
        return ReceiveResult(
            message_json(found._mapping), [message_json(r._mapping) for r in replies], True
        )

    # -- the outbound path --------------------------------------------------------------------

    def _store_outgoing(
        self, tx: _Tx, msg: OutgoingMessage, backend_id: int, errors: list[str]
    ) -> dict[str, Any]:
        created = clock.now()
        app_errors: list[str] = []
        keep = run_outgoing(self.apps, msg, app_errors)
        errors.extend(app_errors)
        now = clock.now()
        push = keep and self.gateways.pushes(msg.connection.backend)
        status = QUEUED if keep else CANCELLED
        parent = msg.in_response_to.id if msg.in_response_to is not None else None
        row = {
            "direction": OUTGOING,
            "status": status,
            "text": str(msg.text),
            "connection_id": msg.connection.id,
            "backend_id": backend_id,
            "in_response_to_id": parent,
            "priority": msg.priority,
            "attempts": 0,
            "error": "; ".join(app_errors) or None,
            "fields": msg.fields or None,
            "created_at": created,
            "updated_at": now,
            "next_attempt_at": now if push else None,
        }
        message_id = tx.conn.execute(_INSERT_MESSAGE, row).scalar_one()
        msg.id, msg.status = message_id, status
        row.update(id=message_id, backend=msg.connection.backend, identity=msg.connection.identity)
        self._record(
            tx,
            message_id,
            None,
            PROCESSING,
            "created",
            created,
            {"in_response_to": parent} if parent else None,
        )
        if keep:
            self._record(
                tx,
                message_id,
                PROCESSING,
                QUEUED,
                "queued",
                now,
                {"mode": "push" if push else "pull"},
            )
            tx.pushed = tx.pushed or push
        else:
            self._record(
                tx, message_id, PROCESSING, CANCELLED, "cancelled", now, {"app": msg.cancelled_by}
            )
        return message_json(row)

    # -- rows shared by both paths --------------------------------------------------------------

    def _record(
        self,
        tx: _Tx,
        message_id: int,
        old: str | None,
        new: str,
        cause: str,
        at: Any,
        detail: dict[str, Any] | None = None,
    ) -> None:
        tx.history.append(history_row(message_id, old, new, cause, at, detail))

    def _check_backend(self, name: Any) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("backend is required", field="backend")
        if len(name) > MAX_BACKEND_LENGTH:
            raise ValidationError(
                f"backend is longer than {MAX_BACKEND_LENGTH} characters", field="backend"
            )
        return name

    def _identity(self, raw: Any, field_name: str) -> str:
        if not isinstance(raw, str):
            raise ValidationError(f"{field_name} must be a string", field=field_name)
        identity = self.normalize_identity(raw)
        if any(ch < " " or ch == "\x7f" for ch in identity):
            # A recipient goes into gateway URLs and headers: no CR, LF or other controls.
            raise ValidationError(f"{field_name} contains control characters", field=field_name)
        if not identity or not identity.strip():
            raise ValidationError(f"{field_name} is empty", field=field_name)
        if len(identity) > MAX_IDENTITY_LENGTH:
            raise ValidationError(
                f"{field_name} is longer than {MAX_IDENTITY_LENGTH} characters", field=field_name
            )
        return identity

    def _backend_id(self, tx: _Tx, name: str) -> int:
        return self._get_or_create(
            tx,
            ("backend", name),
            backends,
            _FIND_BACKEND,
            {"name": name, "created_at": clock.now()},
        )

    def _connection_id(self, tx: _Tx, backend_id: int, identity: str) -> int:
        return self._get_or_create(
            tx,
            ("connection", backend_id, identity),
            connections,
            _FIND_CONNECTION,
            {"backend_id": backend_id, "identity": identity, "created_at": clock.now()},
        )

    def _get_or_create(
        self, tx: _Tx, key: Any, table: Any, find: Any, values: dict[str, Any]
    ) -> int:
        cached = self._ids.get(key) or tx.cache.get(key)
        if cached is not None:
            return cached
        conn = tx.conn
        # Insert first: a new sender costs one statement; a known one not cached yet, two.
        created = conn.execute(_CREATE[table.name][conn.dialect.name], values).scalar()
        if created is not None:
            tx.cache[key] = created  # ours only once committed
            return created
        found: int = conn.execute(find, values).scalar_one()
        self._ids[key] = found
        return found


def _as_connection(value: Connection | tuple[str, str]) -> Connection:
    if isinstance(value, Connection):
        return value
    try:
        backend, identity = value
    except (TypeError, ValueError):
        raise ValidationError(
            "a connection is a (backend, identity) pair", field="connection"
        ) from None
    return Connection(backend, identity)
