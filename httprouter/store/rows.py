"""The JSON form of a message, and the queries that read messages with their backend and contact."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, select

from ..domain.statuses import STATUS_NAMES
from .schema import backends, connections, messages

# The columns every message read selects: the message, its backend's name and its identity.
MESSAGE_COLUMNS = (
    *messages.c,
    backends.c.name.label("backend"),
    connections.c.identity.label("identity"),
)


def select_messages() -> Select[Any]:
    """Return a SELECT of messages joined to their backend name and identity."""
    return (
        select(*MESSAGE_COLUMNS)
        .select_from(messages)
        .join(connections, connections.c.id == messages.c.connection_id)
        .join(backends, backends.c.id == messages.c.backend_id)
    )


def read_messages(conn: Connection, ids: Iterable[int]) -> list[Row[Any]]:
    """Return the messages with these ids (as `select_messages` reads them), in the ids' order;
    an unknown id is left out."""
    wanted = list(ids)
    rows = {row.id: row for row in conn.execute(select_messages().where(messages.c.id.in_(wanted)))}
    return [rows[i] for i in wanted if i in rows]


def backend_of(conn: Connection, message_id: int) -> str | None:
    """Return the name of the backend of the message `message_id` (None: no such message)."""
    return conn.execute(
        select(backends.c.name)
        .join(messages, messages.c.backend_id == backends.c.id)
        .where(messages.c.id == message_id)
    ).scalar()


def iso(value: datetime | None) -> str | None:
    """Format a timestamp as ISO 8601 with its UTC offset."""
    return value.isoformat() if value is not None else None


def message_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """Return a message as JSON: the seven legacy keys first, then the added ones."""
    status = row["status"]
    return {
        "id": row["id"],
        "contact": row["identity"],
        "backend": row["backend"],
        "direction": row["direction"],
        "status": status,
        "text": row["text"],
        "date": iso(row["created_at"]),
        "status_name": STATUS_NAMES.get(status, status),
        "in_response_to": row.get("in_response_to_id"),
        "external_id": row.get("external_id"),
        "priority": row.get("priority", 0),
        "attempts": row.get("attempts", 0),
        "error": row.get("error"),
        "updated": iso(row.get("updated_at")),
        "sent": iso(row.get("sent_at")),
        "delivered": iso(row.get("delivered_at")),
    }
