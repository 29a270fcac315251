"""The message log's filters and keyset paging (no Flask here).

Pages are newest first. `before=<id>` shows the page of older messages, `after=<id>` the page of
newer ones; each page is one index range scan, however deep, so page 10,000 costs what page 1
costs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ...domain.statuses import INCOMING, OUTGOING, STATUS_LETTERS, STATUS_NAMES
from ...errors import ValidationError
from ...store.rows import select_messages
from ...store.schema import backends, connections
from ...store.schema import messages as m

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_FILTER_LENGTH = 200
FILTER_NAMES = ("direction", "status", "backend", "contact", "q", "since", "until")


@dataclass
class LogFilters:
    """What the operator asked to see; `query()` gives them back for links."""

    direction: str = ""
    status: str = ""
    backend: str = ""
    contact: str = ""
    q: str = ""
    since: str = ""
    until: str = ""
    before: int | None = None
    after: int | None = None
    limit: int = PAGE_SIZE
    bounds: dict[str, datetime] = field(default_factory=dict)

    def query(self, **changes: Any) -> dict[str, Any]:
        """Return the filters as URL parameters (empty ones left out), with `changes` applied."""
        params: dict[str, Any] = {name: getattr(self, name) for name in FILTER_NAMES}
        if self.limit != PAGE_SIZE:
            params["limit"] = self.limit
        params.update(changes)
        return {k: v for k, v in params.items() if v not in ("", None)}

    @property
    def active(self) -> bool:
        """Tell whether any filter (not paging) is set."""
        return any(getattr(self, name) for name in FILTER_NAMES)


@dataclass
class LogPage:
    """One page of the log: its rows, newest first, and whether there are pages around it."""

    rows: Sequence[Any]
    has_older: bool
    has_newer: bool

    @property
    def oldest_id(self) -> int | None:
        return self.rows[-1].id if self.rows else None

    @property
    def newest_id(self) -> int | None:
        return self.rows[0].id if self.rows else None


def _text(args: Mapping[str, Any], name: str) -> str:
    value = str(args.get(name) or "").strip()
    if len(value) > MAX_FILTER_LENGTH:
        raise ValidationError(f"{name} is longer than {MAX_FILTER_LENGTH} characters", field=name)
    return value


def _int(args: Mapping[str, Any], name: str, default: int | None, top: int) -> int | None:
    raw = str(args.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1 or int(raw) > top:
        raise ValidationError(f"{name} must be a whole number from 1 to {top}", field=name)
    return int(raw)


def _moment(value: str, name: str, end: bool) -> datetime:
    """Parse a date (`2024-05-01`) or a date and time (`2024-05-01T13:45`), taken as UTC."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"{name} must be a date like 2024-05-01 or 2024-05-01T13:45", field=name
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if end and len(value) == 10:  # a whole day: up to its end
        moment += timedelta(days=1)
    return moment


def parse_filters(args: Mapping[str, Any]) -> LogFilters:
    """Read the log filters from URL parameters; a bad one raises ValidationError naming it."""
    filters = LogFilters()
    for name in FILTER_NAMES:
        setattr(filters, name, _text(args, name))
    filters.direction = filters.direction.upper()
    if filters.direction not in ("", INCOMING, OUTGOING):
        raise ValidationError("direction must be I or O", field="direction")
    status = filters.status
    if status:
        status = STATUS_LETTERS.get(status.lower(), status.upper())
        if status not in STATUS_NAMES:
            raise ValidationError(
                f"status must be one of {', '.join(STATUS_NAMES)}", field="status"
            )
        filters.status = status
    if filters.since:
        filters.bounds["since"] = _moment(filters.since, "since", end=False)
    if filters.until:
        filters.bounds["until"] = _moment(filters.until, "until", end=True)
    filters.before = _int(args, "before", None, 2**62)
    filters.after = _int(args, "after", None, 2**62)
    filters.limit = _int(args, "limit", PAGE_SIZE, MAX_PAGE_SIZE) or PAGE_SIZE
    return filters


def filtered(conn: Connection, filters: LogFilters) -> Any:
    """Return the SELECT of messages that match `filters` (no order, no paging)."""
    query = select_messages()
    if filters.direction:
        query = query.where(m.c.direction == filters.direction)
    if filters.status:
        query = query.where(m.c.status == filters.status)
    if filters.backend:
        # By id, looked up first: then that backend's messages come from its (backend, id)
        # index in order, where a filter on the joined name could make the database sort them.
        ids = conn.execute(select(backends.c.id).where(backends.c.name == filters.backend))
        query = query.where(m.c.backend_id.in_(list(ids.scalars())))
    if filters.contact:
        # Matching connections first: then each one's messages come from its (connection, id)
        # index instead of a scan of every message.
        matching = select(connections.c.id).where(
            connections.c.identity.contains(filters.contact, autoescape=True)
        )
        query = query.where(m.c.connection_id.in_(matching))
    if filters.q:
        query = query.where(func.lower(m.c.text).contains(filters.q.lower(), autoescape=True))
    if "since" in filters.bounds:
        query = query.where(m.c.created_at >= filters.bounds["since"])
    if "until" in filters.bounds:
        query = query.where(m.c.created_at < filters.bounds["until"])
    return query


def log_page(conn: Connection, filters: LogFilters) -> LogPage:
    """Return one page of the log for `filters`, newest first."""
    query = filtered(conn, filters)
    size = filters.limit
    if filters.after is not None:
        rows = conn.execute(
            query.where(m.c.id > filters.after).order_by(m.c.id.asc()).limit(size + 1)
        ).all()
        more = len(rows) > size
        rows = list(reversed(rows[:size]))
        return LogPage(rows, has_older=True, has_newer=more)
    if filters.before is not None:
        query = query.where(m.c.id < filters.before)
    rows = conn.execute(query.order_by(m.c.id.desc()).limit(size + 1)).all()
    return LogPage(rows[:size], has_older=len(rows) > size, has_newer=filters.before is not None)
