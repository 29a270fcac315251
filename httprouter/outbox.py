"""The pull outbox: leasing queued messages to polling gateways (Android relayers, modem scripts).

Only pull messages are handed out: status Q with no `next_attempt_at` (push messages carry one and
belong to the dispatcher). A claim takes the oldest free messages (no lease, or an expired one),
gives them a fresh lease owner and expiry in one statement, and returns them. On PostgreSQL the
inner SELECT locks with FOR UPDATE SKIP LOCKED, so concurrent pollers take disjoint rows without
waiting for each other; on SQLite the write transaction begins IMMEDIATE, so claims run one at a
time. A message the poller never acknowledges is handed out again once its lease has run out.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Update, bindparam, func, insert, select, update

from . import clock
from .db import translate_errors
from .models import OUTGOING, QUEUED, backends, messages, status_changes
from .serialize import iso, message_json, select_messages

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


@dataclass
class Lease:
    """Messages handed to one poll: who holds them and until when."""

    owner: str
    expires_at: datetime
    messages: list[dict[str, Any]] = field(default_factory=list)


def _take(by_backend: bool) -> Update:
    """The claim, built once: lease the oldest `limit` free messages, returning their ids.

    The backend's ids come as values (`_BACKEND_IDS`), not as a subquery: then the (status,
    backend_id, id) index gives the oldest queued rows in order and the scan stops after `limit`;
    with a subquery PostgreSQL sorted every queued message of the backend on every claim. The
    UPDATE joins the free ids (UPDATE … FROM) rather than testing `id IN (…)`, which PostgreSQL
    planned as a hash semi-join over a scan of the whole messages table.
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
    taken = free.subquery("free")
    return (
        update(messages)
        .where(messages.c.id == taken.c.id)
        .values(
            lease_owner=bindparam("owner"),
            lease_expires_at=bindparam("expires"),
            attempts=messages.c.attempts + 1,
        )
        .returning(messages.c.id)
    )


# The ids of the backends named `name` (lowercased), ignoring case.
_BACKEND_IDS = select(backends.c.id).where(func.lower(backends.c.name) == bindparam("name"))
_TAKE_ANY = _take(by_backend=False)
_TAKE_BACKEND = _take(by_backend=True)
_INSERT_HISTORY = insert(status_changes)


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
        "limit": limit,
        "owner": lease.owner,
        "expires": lease.expires_at,
    }
    take = _TAKE_ANY
    with translate_errors(), engine.begin() as conn:
        if backend is not None:
            wanted = conn.execute(_BACKEND_IDS, {"name": backend.lower()}).scalars().all()
            params["backend_ids"] = wanted
            if not wanted:
                return lease
            take = _TAKE_BACKEND
        ids = sorted(conn.execute(take, params).scalars())
        if not ids:
            return lease
        rows = conn.execute(
            select_messages().where(messages.c.id.in_(ids)).order_by(messages.c.id)
        ).all()
        detail = {"lease_owner": lease.owner, "lease_expires": iso(lease.expires_at)}
        conn.execute(
            _INSERT_HISTORY,
            [
                {
                    "message_id": message_id,
                    "old_status": QUEUED,
                    "new_status": QUEUED,
                    "cause": "outbox",
                    "at": now,
                    "detail": detail,
                }
                for message_id in ids
            ],
        )
    lease.messages = [message_json(row._mapping) for row in rows]
    return lease
