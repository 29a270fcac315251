"""The pull outbox: leasing queued messages to polling gateways (phones, modem scripts).

Only pull messages are handed out: status Q with no `next_attempt_at` (push messages carry one and
belong to the dispatcher). A claim takes the oldest free messages (no lease, or an expired one),
gives them a fresh lease owner and expiry, records the hand-out in their history and returns them:
one statement on PostgreSQL (data-modifying WITH), two on SQLite (UPDATE … RETURNING, then the
history as one INSERT … SELECT), with no work per row in Python but the answer. On PostgreSQL the
inner SELECT locks with FOR UPDATE SKIP LOCKED, so concurrent pollers take disjoint rows without
waiting for each other; on SQLite the write transaction begins IMMEDIATE, so claims run one at a
time. A message the poller never acknowledges is handed out again once its lease has run out.

A poller that reports delivery results on its own schedule asks which of its sent messages still
wait for one (`sent_waiting`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, Update, bindparam, func, insert, literal, select, update

from .. import clock
from ..domain.statuses import OUTGOING, QUEUED, SENT
from .engine import translate_errors
from .rows import iso, message_json, select_messages
from .schema import backends, connections, messages, status_changes

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
CAUSE = "outbox"  # the history entry of each hand-out


@dataclass
class Lease:
    """Messages handed to one poll: who holds them and until when."""

    owner: str
    expires_at: datetime
    messages: list[dict[str, Any]] = field(default_factory=list)


def _free(by_backend: bool) -> Any:
    """The oldest `limit` free pull messages (ids), locked and skipping locked rows on PostgreSQL.

    The backend's ids come as values (`_BACKEND_IDS` first), not as a subquery: then the (status,
    backend_id, id) index gives the oldest queued rows in order and the scan stops after `limit`;
    with a subquery PostgreSQL sorted every queued message of the backend on every claim.
    """
    free = (
        select(messages.c.id)
        .where(
            messages.c.status == QUEUED,
            messages.c.direction == OUTGOING,
            messages.c.next_attempt_at.is_(None),
            messages.c.lease_expires_at.is_(None)
            | (messages.c.lease_expires_at <= bindparam("now")),
        )
        .order_by(messages.c.id)
        .limit(bindparam("limit"))
        .with_for_update(skip_locked=True, of=messages)
    )
    if by_backend:
        free = free.where(messages.c.backend_id.in_(bindparam("backend_ids", expanding=True)))
    return free.subquery("free")


def _lease(by_backend: bool) -> Update:
    """Give the free messages the lease (UPDATE … FROM the free ids: PostgreSQL planned
    `id IN (…)` as a hash semi-join over a scan of the whole messages table)."""
    free = _free(by_backend)
    return (
        update(messages)
        .where(messages.c.id == free.c.id)
        .values(
            lease_owner=bindparam("owner"),
            lease_expires_at=bindparam("expires"),
            attempts=messages.c.attempts + 1,
        )
    )


def _as_handed_out(table: Any) -> list[Any]:
    """A leased row as the poller gets it: the message's columns, its backend's name and its
    identity (looked up per row by primary key, whatever the planner thinks of the tables).

    SQLAlchemy writes RETURNING columns unqualified for SQLite (`WHERE id = backend_id`): SQL
    takes `id` from the subquery's own table and `backend_id` (`connection_id`), which that table
    lacks, from the updated row. tests/unit/store/test_outbox.py checks the names and identities.
    """
    b, c = backends.alias("b"), connections.alias("c")
    return [
        *(table.c[column.name] for column in messages.c),
        select(b.c.name).where(b.c.id == table.c.backend_id).scalar_subquery().label("backend"),
        select(c.c.identity)
        .where(c.c.id == table.c.connection_id)
        .scalar_subquery()
        .label("identity"),
    ]


_HISTORY_COLUMNS = ["message_id", "old_status", "new_status", "cause", "at", "detail"]


def _history_of(ids: Any) -> list[Any]:
    """One "outbox" history row per leased id; the same lease detail for all, bound once."""
    return [
        ids,
        literal(QUEUED),
        literal(QUEUED),
        literal(CAUSE),
        bindparam("at", type_=status_changes.c.at.type),
        bindparam("detail", type_=status_changes.c.detail.type),
    ]


def _claim_in_one_statement(by_backend: bool) -> Select[Any]:
    """PostgreSQL: lease, record and return the rows in one statement (data-modifying CTEs)."""
    taken = _lease(by_backend).returning(*messages.c).cte("taken")
    recorded = insert(status_changes).from_select(
        _HISTORY_COLUMNS, select(*_history_of(taken.c.id))
    )
    return select(*_as_handed_out(taken)).add_cte(recorded.cte("recorded"))


# SQLite (no DML in a WITH): lease returning the rows, then record them by id. Two statements and
# no work per row in Python: the write lock is held for as short a time as possible.
_LEASE_RETURNING = {b: _lease(b).returning(*_as_handed_out(messages)) for b in (False, True)}
_RECORD = insert(status_changes).from_select(
    _HISTORY_COLUMNS,
    select(*_history_of(messages.c.id)).where(messages.c.id.in_(bindparam("ids", expanding=True))),
)
_CLAIM_PG = {b: _claim_in_one_statement(b) for b in (False, True)}
# The ids of the backends named `name` (lowercased), ignoring case.
_BACKEND_IDS = select(backends.c.id).where(func.lower(backends.c.name) == bindparam("name"))


def claim(
    engine: Engine,
    *,
    lease_seconds: int,
    backend: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Lease:
    """Lease up to `limit` queued pull messages, oldest first, and return them as JSON."""
    now = clock.now()
    lease = Lease(owner=secrets.token_hex(8), expires_at=now + timedelta(seconds=lease_seconds))
    params: dict[str, Any] = {
        "now": now,
        "at": now,
        "limit": limit,
        "owner": lease.owner,
        "expires": lease.expires_at,
        "detail": {"lease_owner": lease.owner, "lease_expires": iso(lease.expires_at)},
    }
    with translate_errors(), engine.begin() as conn:
        if backend is not None:
            params["backend_ids"] = (
                conn.execute(_BACKEND_IDS, {"name": backend.lower()}).scalars().all()
            )
            if not params["backend_ids"]:
                return lease
        by_backend = backend is not None
        if conn.dialect.name == "postgresql":
            rows = conn.execute(_CLAIM_PG[by_backend], params).all()
        else:
            rows = conn.execute(_LEASE_RETURNING[by_backend], params).all()
            if rows:
                conn.execute(_RECORD, {**params, "ids": [row.id for row in rows]})
    lease.messages = [message_json(row._mapping) for row in sorted(rows, key=lambda r: r.id)]
    return lease


def sent_waiting(
    engine: Engine, *, backend: str, limit: int = DEFAULT_LIMIT
) -> list[dict[str, Any]]:
    """The backend's outbound messages that are sent and wait for a delivery result, newest
    first (the newest: a poller that never reports some of them still hears of the others)."""
    with translate_errors(), engine.connect() as conn:
        ids = conn.execute(_BACKEND_IDS, {"name": backend.lower()}).scalars().all()
        if not ids:
            return []
        rows = conn.execute(
            select_messages()
            .where(
                messages.c.status == SENT,
                messages.c.direction == OUTGOING,
                messages.c.backend_id.in_(ids),
            )
            .order_by(messages.c.id.desc())
            .limit(limit)
        ).all()
    return [message_json(row._mapping) for row in rows]
