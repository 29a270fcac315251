"""The JSON form of a message, and the query that reads messages with their backend and contact."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select

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
