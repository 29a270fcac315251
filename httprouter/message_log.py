"""Reading the message log: filtered, keyset-paged lists and one message with its history.

Pages go newest first by id, continuing below `before_id` (no OFFSET), so every page costs the
same however deep the reader goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from .models import (
    STATUS_NAMES,
    backends,
    connections,
    delivery_attempts,
    messages,
    status_changes,
)
from .serialize import iso, message_json, select_messages


@dataclass
class LogFilter:
    """What a log reader asks for; every field is optional."""

    direction: str | None = None
    statuses: list[str] = field(default_factory=list)
    backend: str | None = None
    contact: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 50


def list_messages(conn: Connection, wanted: LogFilter) -> tuple[list[dict[str, Any]], int | None]:
    """Return one page of messages, newest first, and the `before_id` of the next page."""
    query = select_messages()
    if wanted.direction:
        query = query.where(messages.c.direction == wanted.direction)
    if wanted.statuses:
        query = query.where(messages.c.status.in_(wanted.statuses))
    if wanted.backend:
        ids = select(backends.c.id).where(func.lower(backends.c.name) == wanted.backend.lower())
        query = query.where(messages.c.backend_id.in_(ids))
    if wanted.contact:
        ids = select(connections.c.id).where(connections.c.identity == wanted.contact)
        query = query.where(messages.c.connection_id.in_(ids))
    if wanted.text:
        query = query.where(messages.c.text.icontains(wanted.text, autoescape=True))
    if wanted.since:
        query = query.where(messages.c.created_at >= wanted.since)
    if wanted.until:
        query = query.where(messages.c.created_at < wanted.until)
    if wanted.before_id:
        query = query.where(messages.c.id < wanted.before_id)
    rows = conn.execute(query.order_by(messages.c.id.desc()).limit(wanted.limit)).all()
    page = [message_json(row._mapping) for row in rows]
    next_before = page[-1]["id"] if len(page) == wanted.limit else None
    return page, next_before


def message_detail(conn: Connection, message_id: int) -> dict[str, Any] | None:
    """Return a message with its history, delivery attempts, responses and parent, or None."""
    row = conn.execute(select_messages().where(messages.c.id == message_id)).first()
    if row is None:
        return None
    message = message_json(row._mapping)
    parent = None
    if row.in_response_to_id is not None:
        found = conn.execute(
            select_messages().where(messages.c.id == row.in_response_to_id)
        ).first()
        parent = message_json(found._mapping) if found is not None else None
    responses = conn.execute(
        select_messages().where(messages.c.in_response_to_id == message_id).order_by(messages.c.id)
    ).all()
    history = conn.execute(
        select(status_changes)
        .where(status_changes.c.message_id == message_id)
        .order_by(status_changes.c.id)
    ).all()
    attempts = conn.execute(
        select(delivery_attempts)
        .where(delivery_attempts.c.message_id == message_id)
        .order_by(delivery_attempts.c.id)
    ).all()
    return {
        "message": message,
        "history": [_change_json(h._mapping) for h in history],
        "attempts": [_attempt_json(a._mapping) for a in attempts],
        "responses": [message_json(r._mapping) for r in responses],
        "in_response_to": parent,
    }


def _change_json(row: Any) -> dict[str, Any]:
    old, new = row["old_status"], row["new_status"]
    return {
        "at": iso(row["at"]),
        "old_status": old,
        "new_status": new,
        "status_name": STATUS_NAMES.get(new, new),
        "changed": old != new,
        "cause": row["cause"],
        "detail": row["detail"],
    }


def _attempt_json(row: Any) -> dict[str, Any]:
    return {
        "number": row["number"],
        "worker": row["worker"],
        "started": iso(row["started_at"]),
        "finished": iso(row["finished_at"]),
        "outcome": row["outcome"],
        "request": row["request"],
        "response_status": row["response_status"],
        "response_body": row["response_body"],
        "error": row["error"],
    }
