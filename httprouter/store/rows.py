"""The queries that read messages with their backend and contact, and their rows as domain
objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Select, select

from ..domain.messages import StoredMessage, iso
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


def stored_message(row: Mapping[Any, Any]) -> StoredMessage:
    """A message row (as `select_messages` reads it, or as just written) as a domain object."""
    return StoredMessage(
        id=row["id"],
        direction=row["direction"],
        status=row["status"],
        text=row["text"],
        backend=row["backend"],
        contact=row["identity"],
        created_at=row["created_at"],
        updated_at=row.get("updated_at"),
        in_response_to=row.get("in_response_to_id"),
        external_id=row.get("external_id"),
        priority=row.get("priority", 0),
        attempts=row.get("attempts", 0),
        error=row.get("error"),
        sent_at=row.get("sent_at"),
        delivered_at=row.get("delivered_at"),
    )


def backend_of(conn: Connection, message_id: int) -> str | None:
    """Return the name of the backend of the message `message_id` (None: no such message)."""
    return conn.execute(
        select(backends.c.name)
        .join(messages, messages.c.backend_id == backends.c.id)
        .where(messages.c.id == message_id)
    ).scalar()


def message_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A message row as JSON (see `StoredMessage.to_json`)."""
    return stored_message(row).to_json()


__all__ = [
    "MESSAGE_COLUMNS",
    "backend_of",
    "iso",
    "message_json",
    "select_messages",
    "stored_message",
]
