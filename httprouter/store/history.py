"""Status changes of messages, and recording every one in the history.

Statuses only move forward (the rules are domain/statuses.py's): Q → S → D, Q/E → F. A report
that would move a message back (a late "sent" after "delivered", a repeat) changes nothing but is
still recorded, with the status it asked for in its detail. `force=True` is for an operator's
explicit action (resend).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.sql import ClauseElement

from .. import clock
from ..domain.statuses import (
    ERRORED,
    FAILED,
    OUTGOING,
    QUEUED,
    can_move,
)
from ..errors import NotFoundError
from . import metrics
from .schema import backends, messages, status_changes


@dataclass(frozen=True)
class StatusResult:
    """What a status change did: the status before and after, and whether it moved."""

    message_id: int
    old: str
    new: str
    changed: bool


def record(
    conn: Connection,
    message_id: int,
    old: str | None,
    new: str,
    cause: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one history entry."""
    conn.execute(
        insert(status_changes).values(history_row(message_id, old, new, cause, clock.now(), detail))
    )


def change_status(
    conn: Connection,
    message_id: int,
    new: str,
    cause: str,
    *,
    detail: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    force: bool = False,
) -> StatusResult:
    """Move a message to `new` if allowed (or `force`), always recording the attempt.

    Call inside a transaction; on PostgreSQL the row is locked until it commits. `values` are
    extra columns written only when the status moves (sent_at, delivered_at, ...).
    """
    change = Change(message_id, new, cause, detail, values, force)
    return change_statuses(conn, [change])[0]


@dataclass(frozen=True)
class Change:
    """One status change asked for in a batch (see `change_statuses`).

    `new=None` asks for nothing: the event (a report that only informs) is recorded in the
    history with the message's current status as old and new, and the message is left alone.
    `force` moves it even backwards (an operator's explicit action).
    """

    message_id: int
    new: str | None
    cause: str
    detail: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    force: bool = False


class Current(NamedTuple):
    """What a batch needs to know of a message before changing it (see `read_current`)."""

    status: str
    direction: str
    backend: str


_READ_CURRENT = (
    select(messages.c.id, messages.c.status, messages.c.direction, backends.c.name)
    .join(backends, backends.c.id == messages.c.backend_id)
    .where(messages.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(messages.c.id)
)
_READ_CURRENT_LOCKED = _READ_CURRENT.with_for_update(of=messages)


def read_current(conn: Connection, ids: Iterable[int]) -> dict[int, Current]:
    """Read the status, direction and backend name of messages in one query; absent ids are left
    out. On PostgreSQL the message rows are locked, in id order, until the transaction ends."""
    query = _READ_CURRENT_LOCKED if conn.dialect.name == "postgresql" else _READ_CURRENT
    rows = conn.execute(query, {"ids": sorted(set(ids))})
    return {row[0]: Current(row[1], row[2], row[3]) for row in rows}


def _group_key(change: Change) -> tuple[Hashable, ...]:
    """Changes with equal keys are written by one UPDATE (SQL expressions compare by identity)."""
    values = change.values or {}
    return (
        change.new,
        tuple((k, id(v) if isinstance(v, ClauseElement) else v) for k, v in sorted(values.items())),
    )


def change_statuses(
    conn: Connection,
    changes: Sequence[Change],
    *,
    current: Mapping[int, Current] | None = None,
) -> list[StatusResult]:
    """Apply many status changes in a few statements; the same rules as `change_status`.

    One read of the current statuses (`read_current`: rows locked in id order on PostgreSQL;
    skipped when the caller passes what it read already as `current`), one UPDATE per group of
    changes that write the same values (pass one `values` dict to the whole batch when the values
    are the same) and one multi-row history insert. A message may appear once; an unknown id
    raises NotFoundError before anything is written. Returns results in input order.
    """
    if not changes:
        return []
    ids = [c.message_id for c in changes]
    if len(set(ids)) != len(ids):
        raise ValueError("a message may appear only once per batch")
    if current is None:
        current = read_current(conn, ids)
    missing = [i for i in ids if i not in current]
    if missing:
        raise NotFoundError(f"no message with id {missing[0]}", field="message_id")
    now = clock.now()
    results: list[StatusResult] = []
    history: list[dict[str, Any]] = []
    groups: dict[tuple[Hashable, ...], tuple[Change, list[int]]] = {}
    moves: Counter[tuple[str, str]] = Counter()
    for change in changes:
        found = current[change.message_id]
        old = found.status
        if change.new is None or not (change.force or can_move(old, change.new)):
            detail = change.detail
            if change.new is not None:
                detail = {**(detail or {}), "ignored": change.new}
            history.append(history_row(change.message_id, old, old, change.cause, now, detail))
            results.append(StatusResult(change.message_id, old, old, False))
            continue
        groups.setdefault(_group_key(change), (change, []))[1].append(change.message_id)
        history.append(
            history_row(change.message_id, old, change.new, change.cause, now, change.detail)
        )
        results.append(StatusResult(change.message_id, old, change.new, old != change.new))
        if old != change.new:
            moves[(found.backend, change.new)] += 1
    for first, group_ids in groups.values():
        conn.execute(
            update(messages)
            .where(messages.c.id.in_(group_ids))
            .values(status=first.new, updated_at=now, **(first.values or {}))
        )
    conn.execute(insert(status_changes).returning(status_changes.c.id), history)  # batched
    for (backend, new), count in moves.items():
        metrics.count_status(conn, backend, new, count)
    return results


def history_row(
    message_id: int,
    old: str | None,
    new: str,
    cause: str,
    at: Any,
    detail: dict[str, Any] | None,
) -> dict[str, Any]:
    """One status_changes row, as the values of an INSERT."""
    return {
        "message_id": message_id,
        "old_status": old,
        "new_status": new,
        "cause": cause,
        "at": at,
        "detail": detail,
    }


def requeue(
    conn: Connection,
    message_id: int,
    *,
    push: bool,
    cause: str = "resend",
    detail: dict[str, Any] | None = None,
) -> StatusResult:
    """Queue an errored or failed outbound message again, with a fresh attempt budget.

    `push` says whether the message's backend is pushed now (the dispatcher takes it at once) or
    pulled (it reappears in the outbox). Other statuses are left alone (and recorded as refused).
    """
    current = conn.execute(select(messages.c.status).where(messages.c.id == message_id)).scalar()
    if current is None:
        raise NotFoundError(f"no message with id {message_id}", field="message_id")
    if current not in (ERRORED, FAILED):
        record(conn, message_id, current, current, cause, {**(detail or {}), "ignored": QUEUED})
        return StatusResult(message_id, current, current, False)
    return change_status(
        conn,
        message_id,
        QUEUED,
        cause,
        detail=detail,
        force=True,
        values={
            "attempts": 0,
            "next_attempt_at": clock.now() if push else None,
            "lease_owner": None,
            "lease_expires_at": None,
        },
    )


def resendable_ids(
    conn: Connection,
    statuses: Sequence[str],
    *,
    backend: str | None = None,
    since: datetime | None = None,
    after_id: int = 0,
    limit: int,
) -> list[int]:
    """Return the ids of outbound messages in `statuses` (on `backend`, its exact name; created
    at or after `since`) above `after_id`, the first `limit` of them in id order."""
    query = (
        select(messages.c.id)
        .where(
            messages.c.direction == OUTGOING,
            messages.c.status.in_(statuses),
            messages.c.id > after_id,
        )
        .order_by(messages.c.id)
        .limit(limit)
    )
    if backend is not None:
        ids = conn.execute(select(backends.c.id).where(backends.c.name == backend)).scalars()
        query = query.where(messages.c.backend_id.in_(list(ids)))
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    return list(conn.execute(query).scalars())
