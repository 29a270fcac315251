"""The router core: receive → phases → replies; send; lookup_connections. No Flask, no SQL text.

Everything one inbound message causes happens in one unit of work (store/unit.py): the inbound
row, the apps' phases, the replies and the status history are committed together, before the
gateway gets its answer. A crash before the commit leaves nothing behind, so the gateway's retry
starts clean. `receive` and `send` return domain objects; the web layer serialises them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from . import clock
from .domain.identities import NORMALIZERS, check_backend, check_external_id, check_identity
from .domain.messages import Connection, IncomingMessage, OutgoingMessage, StoredMessage
from .domain.statuses import (
    CANCELLED,
    HANDLED,
    INCOMING,
    OUTGOING,
    PROCESSING,
    QUEUED,
    RECEIVED,
)
from .errors import StorageUnavailable, ValidationError
from .logsetup import log_context
from .phases import run_incoming, run_outgoing
from .store import metrics
from .store.rows import stored_message
from .store.unit import Store, Unit


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
class Received:
    """What `Router.receive` stored: the inbound message and its replies."""

    message: StoredMessage
    responses: list[StoredMessage] = field(default_factory=list)
    duplicate: bool = False


class Router:
    """Stores and routes messages for one database and one list of apps."""

    def __init__(
        self,
        store: Store,
        config: dict[str, Any],
        apps: Sequence[Any] | None = None,
        gateways: Gateways | None = None,
    ) -> None:
        self.store = store
        self.engine = store.engine
        self.config = config
        self.normalize_identity = NORMALIZERS[config["IDENTITY_NORMALIZER"]]
        self.apps: list[Any] = list(apps or [])
        self.gateways: Gateways = gateways if gateways is not None else _AllPulled()

    # -- public API ---------------------------------------------------------------------------

    def lookup_connections(self, backend: str, identities: Iterable[str]) -> list[Connection]:
        """Return the connections for `identities` on `backend`, creating those that are new."""
        with self.store.unit() as unit:
            backend_id = self.store.backend_id(unit, check_backend(backend))
            result = []
            for raw in identities:
                identity = self._identity(raw, "identities")
                connection_id = self.store.connection_id(unit, backend_id, identity)
                result.append(Connection(backend, identity, connection_id))
            return result

    def receive(
        self,
        text: str,
        connection: Connection | tuple[str, str],
        *,
        external_id: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> Received:
        """Store an inbound message, run the apps over it and store their replies, atomically.

        With `external_id` (the gateway's id) a repeat of the same (backend, id) returns the
        first result without running any app again.
        """
        connection = _as_connection(connection)
        backend = check_backend(connection.backend)
        identity = self._identity(connection.identity, "sender")
        check_external_id(external_id)
        with self.store.unit() as unit:
            backend_id = self.store.backend_id(unit, backend)
            connection_id = self.store.connection_id(unit, backend_id, identity)
            stored = Connection(backend, identity, connection_id)
            result = self._receive(unit, text, stored, backend_id, external_id, fields or {})
            if result is None and external_id is not None:
                # A repeat of a gateway id (maybe committed a moment ago by a concurrent
                # request): answer with what the first one stored.
                found = self.store.find_inbound(unit, backend_id, external_id)
                if found is not None:
                    result = Received(found[0], found[1], duplicate=True)
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

        Each returned message carries its stored row (`stored`, also `db_message`). Inside an
        app's hook this joins the inbound message's unit of work.
        """
        with self.store.unit() as unit:
            out = []
            for item in connections_:
                conn = _as_connection(item)
                backend = check_backend(conn.backend)
                identity = self._identity(conn.identity, "to")
                backend_id = self.store.backend_id(unit, backend)
                connection = Connection(
                    backend, identity, self.store.connection_id(unit, backend_id, identity)
                )
                msg = OutgoingMessage(
                    text=text, connection=connection, priority=priority, fields=dict(fields or {})
                )
                self._store_outgoing(unit, msg, backend_id, [])
                out.append(msg)
            return out

    def read(self) -> Any:
        """A read-only connection of the router's store (see `Store.read`)."""
        return self.store.read()

    def read_message(self, message_id: int) -> StoredMessage | None:
        """One message, or None if there is no such id."""
        return self.store.read_message(message_id)

    def on_push_queued(self, callback: Any) -> None:
        """Call `callback` after every commit that queued messages for a push backend."""
        self.store.on_push_queued(callback)

    # -- the inbound path ---------------------------------------------------------------------

    def _receive(
        self,
        unit: Unit,
        text: str,
        connection: Connection,
        backend_id: int,
        external_id: str | None,
        fields: dict[str, Any],
    ) -> Received | None:
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
        message_id = self.store.insert_inbound(unit, row)
        if message_id is None:
            return None
        row.update(id=message_id, backend=connection.backend, identity=connection.identity)
        unit.record(message_id, None, RECEIVED, "received", now)

        msg = IncomingMessage(
            text=text,
            connection=connection,
            id=message_id,
            external_id=external_id,
            received_at=now,
            fields=dict(fields),
            stored=stored_message(row),
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
        unit.record(message_id, RECEIVED, HANDLED, "apps", done, detail or None)

        responses = []
        for reply in msg.responses:
            reply_backend_id = backend_id
            if reply.connection != connection:
                reply_backend_id = self.store.backend_id(unit, reply.connection.backend)
                reply.connection = Connection(
                    reply.connection.backend,
                    reply.connection.identity,
                    self.store.connection_id(unit, reply_backend_id, reply.connection.identity),
                )
            responses.append(self._store_outgoing(unit, reply, reply_backend_id, msg.errors))

        # Errors (of the apps, and of outgoing hooks) are written once the replies are stored.
        error = "; ".join(msg.errors) or None
        if error is not None:
            self.store.set_errors(unit, message_id, done, error)
            row.update(updated_at=done, error=error)

        metrics.after_commit(
            unit.conn,
            lambda: metrics.observe_receive(connection.backend, time.perf_counter() - started),
        )
        return Received(stored_message(row), responses)

    # -- the outbound path --------------------------------------------------------------------

    def _store_outgoing(
        self, unit: Unit, msg: OutgoingMessage, backend_id: int, errors: list[str]
    ) -> StoredMessage:
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
        message_id = self.store.insert_message(unit, row)
        row.update(id=message_id, backend=msg.connection.backend, identity=msg.connection.identity)
        msg.id, msg.status, msg.stored = message_id, status, stored_message(row)
        unit.record(
            message_id,
            None,
            PROCESSING,
            "created",
            created,
            {"in_response_to": parent} if parent else None,
        )
        if keep:
            mode = {"mode": "push" if push else "pull"}
            unit.record(message_id, PROCESSING, QUEUED, "queued", now, mode)
            unit.pushed = unit.pushed or push
        else:
            app = {"app": msg.cancelled_by}
            unit.record(message_id, PROCESSING, CANCELLED, "cancelled", now, app)
        return msg.stored

    def _identity(self, raw: Any, field_name: str) -> str:
        return check_identity(raw, self.normalize_identity, field_name)


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
