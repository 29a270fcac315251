"""Reading the message log: filtered, keyset-paged lists.

Pages go newest first by id, continuing below `before_id` (no OFFSET), so every page costs the
same however deep the reader goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, union_all

from .rows import message_json, select_messages
from .schema import backends, connections, messages


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
    where = _conditions(conn, wanted)
    statuses = list(dict.fromkeys(wanted.statuses))
    if len(statuses) > 1:
        where = [messages.c.id.in_(_newest_per_status(where, statuses, wanted.limit))]
    elif statuses:
        where.append(messages.c.status == statuses[0])
    query = select_messages().where(*where).order_by(messages.c.id.desc()).limit(wanted.limit)
    rows = conn.execute(query).all()
    page = [message_json(row._mapping) for row in rows]
    next_before = page[-1]["id"] if len(page) == wanted.limit else None
    return page, next_before


def _conditions(conn: Connection, wanted: LogFilter) -> list[Any]:
    """Return the WHERE terms of every filter but the statuses."""
    where = []
    if wanted.direction:
        where.append(messages.c.direction == wanted.direction)
    if wanted.backend:
        # Ids first: a single id lets the database walk that backend's (backend, id) index.
        ids = conn.execute(
            select(backends.c.id).where(func.lower(backends.c.name) == wanted.backend.lower())
        ).scalars()
        where.append(messages.c.backend_id.in_(list(ids)))
    if wanted.contact:
        ids = conn.execute(
            select(connections.c.id).where(connections.c.identity == wanted.contact)
        ).scalars()
        where.append(messages.c.connection_id.in_(list(ids)))
    if wanted.text:
        where.append(messages.c.text.icontains(wanted.text, autoescape=True))
    if wanted.since:
        where.append(messages.c.created_at >= wanted.since)
    if wanted.until:
        where.append(messages.c.created_at < wanted.until)
    if wanted.before_id:
        where.append(messages.c.id < wanted.before_id)
    return where


def _newest_per_status(where: list[Any], statuses: list[str], limit: int) -> Any:
    """Return a SELECT of the ids of the newest `limit` matches of `where` in each status.

    `status IN (...)` would make the database sort every match; this way each status's newest
    come in order from its own (status, id) index range, and only those few are sorted.
    """
    pages = [
        select(messages.c.id)
        .where(*where, messages.c.status == status)
        .order_by(messages.c.id.desc())
        .limit(limit)
        .subquery()
        for status in statuses
    ]
    return union_all(*(select(page.c.id) for page in pages))
