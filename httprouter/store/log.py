"""Reading the message log: one filtered, keyset-paged query for the API and the console alike.

The rules of the filter, whoever asks (`/router/messages` or the console's log page):

- `direction`: I or O.
- `statuses`: any of several status letters (none: every status).
- `backend`: the backend's name in any case: `kannel` finds the messages of "Kannel" and of
  "kannel" (gateways and people spell a name differently; two spellings are rarely two backends).
- `contact`: exactly this identity (the API normalises it first, as a message's is).
  `contact_contains`: identities containing this text, for a person who remembers part of a
  number (the console's box). Both can be set; LIKE wildcards are literal.
- `text`: the text contains this, in any case; LIKE wildcards are literal.
- `since` at or after, `until` before (aware datetimes).
- Paging by id, newest first: `before_id` gives the page below an id, `after_id` the page above
  one; never OFFSET, so every page costs what the first costs however deep the reader goes.

Each filter is a range of an index: backend and contact ids are looked up first (then each
comes in id order from its (backend_id, id) or (connection_id, id) index), and several statuses
are read as one ordered (status, id) range each and merged (bench/README.md, the message log at
1,000,000 messages).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select, union_all

from .rows import select_messages
from .schema import backends, connections, messages

DEFAULT_LIMIT = 50


@dataclass
class LogFilter:
    """What a reader of the log asks for; every field is optional (see the module's rules)."""

    direction: str | None = None
    statuses: list[str] = field(default_factory=list)
    backend: str | None = None
    contact: str | None = None
    contact_contains: str | None = None
    text: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    after_id: int | None = None
    limit: int = DEFAULT_LIMIT


@dataclass
class LogPage:
    """One page of the log: its rows (as `select_messages` reads them), newest first.

    `has_older` and `has_newer` say whether a page lies below or above this one.
    """

    rows: Sequence[Row[Any]]
    has_older: bool
    has_newer: bool

    @property
    def oldest_id(self) -> int | None:
        return self.rows[-1].id if self.rows else None

    @property
    def newest_id(self) -> int | None:
        return self.rows[0].id if self.rows else None


def log_page(conn: Connection, wanted: LogFilter) -> LogPage:
    """Return the page of messages that match `wanted`, newest first."""
    upward = wanted.after_id is not None
    order = messages.c.id.asc() if upward else messages.c.id.desc()
    size = wanted.limit
    where = _conditions(conn, wanted)
    statuses = list(dict.fromkeys(wanted.statuses))
    if len(statuses) > 1:
        where = [messages.c.id.in_(_first_per_status(where, statuses, order, size + 1))]
    elif statuses:
        where.append(messages.c.status == statuses[0])
    rows = conn.execute(select_messages().where(*where).order_by(order).limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    if upward:
        return LogPage(list(reversed(rows)), has_older=True, has_newer=more)
    return LogPage(rows, has_older=more, has_newer=wanted.before_id is not None)


def _conditions(conn: Connection, wanted: LogFilter) -> list[Any]:
    """Return the WHERE terms of every filter but the statuses."""
    where = []
    if wanted.direction:
        where.append(messages.c.direction == wanted.direction)
    if wanted.backend:
        ids = conn.execute(
            select(backends.c.id).where(func.lower(backends.c.name) == wanted.backend.lower())
        ).scalars()
        where.append(messages.c.backend_id.in_(list(ids)))
    if wanted.contact:
        ids = conn.execute(
            select(connections.c.id).where(connections.c.identity == wanted.contact)
        ).scalars()
        where.append(messages.c.connection_id.in_(list(ids)))
    if wanted.contact_contains:
        # A subquery, not a list: part of a number may match thousands of connections.
        matching = select(connections.c.id).where(
            connections.c.identity.contains(wanted.contact_contains, autoescape=True)
        )
        where.append(messages.c.connection_id.in_(matching))
    if wanted.text:
        where.append(messages.c.text.icontains(wanted.text, autoescape=True))
    if wanted.since:
        where.append(messages.c.created_at >= wanted.since)
    if wanted.until:
        where.append(messages.c.created_at < wanted.until)
    if wanted.before_id is not None:
        where.append(messages.c.id < wanted.before_id)
    if wanted.after_id is not None:
        where.append(messages.c.id > wanted.after_id)
    return where


def _first_per_status(where: list[Any], statuses: list[str], order: Any, limit: int) -> Any:
    """Return a SELECT of the ids of the first `limit` matches of `where` in each status.

    `status IN (...)` would make the database sort every match; this way each status's first
    come in order from its own (status, id) index range, and only those few are sorted.
    """
    pages = [
        select(messages.c.id)
        .where(*where, messages.c.status == status)
        .order_by(order)
        .limit(limit)
        .subquery()
        for status in statuses
    ]
    return union_all(*(select(page.c.id) for page in pages))


def conversation(
    conn: Connection, backend: str, identity: str, *, after_id: int = 0, limit: int
) -> list[Row[Any]]:
    """Return the last `limit` messages to and from `identity` on `backend` (its exact name)
    with ids above `after_id`, oldest first: a phone's thread."""
    link = conn.execute(
        select(connections.c.id)
        .join(backends, backends.c.id == connections.c.backend_id)
        .where(backends.c.name == backend, connections.c.identity == identity)
    ).scalar()
    if link is None:
        return []
    rows = conn.execute(
        select_messages()
        .where(messages.c.connection_id == link, messages.c.id > after_id)
        .order_by(messages.c.id.desc())
        .limit(limit)
    ).all()
    return list(reversed(rows))


def backend_names(conn: Connection) -> list[str]:
    """Return the name of every backend the database knows, in order (for filter and send forms)."""
    return list(conn.execute(select(backends.c.name).order_by(backends.c.name)).scalars())
