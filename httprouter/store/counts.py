"""Counting messages per backend and status, for /router/status, the console's queues page and
/metrics; and the queue's health: how many wait too long, and since when each backend waits.

Every count groups by backend id and status and adds the names after: the count then reads only
the (status, backend_id, id) index, where a join to backends would fetch every message row.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select

from .. import clock
from ..domain.statuses import ERRORED, QUEUED, WAITING_STATUSES
from .schema import backends, messages, status_changes
from .traffic import CLOCK_SLACK, first_id_since

_BY_BACKEND_AND_STATUS = select(messages.c.backend_id, messages.c.status, func.count()).group_by(
    messages.c.status, messages.c.backend_id
)
# The waiting statuses are outbound ones only (domain/statuses), so no direction is asked for.
_WAITING = _BY_BACKEND_AND_STATUS.where(messages.c.status.in_(WAITING_STATUSES))


def _names(conn: Connection) -> dict[int, str]:
    return dict(conn.execute(select(backends.c.id, backends.c.name)).all())


def _table(names: dict[int, str], counts: Counter[tuple[int, str]]) -> dict[str, dict[str, int]]:
    """{backend: {status: count}}, backends by name and statuses by letter."""
    table: dict[str, dict[str, int]] = {}
    for (name, status), count in sorted(((names[b], s), n) for (b, s), n in counts.items()):
        table.setdefault(name, {})[status] = count
    return table


def status_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Return {backend: {status letter: count}} over every message (/router/status)."""
    rows = conn.execute(_BY_BACKEND_AND_STATUS)
    return _table(_names(conn), Counter({(b, s): n for b, s, n in rows}))


def waiting_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """{(backend, status): count} of outbound messages waiting to leave, every pair present
    (/metrics' queue depth: a gauge that drops to 0 must still be there)."""
    names = _names(conn)
    counts = {(name, status): 0 for name in sorted(names.values()) for status in WAITING_STATUSES}
    for backend_id, status, count in conn.execute(_WAITING):
        counts[(names[backend_id], status)] = count
    return counts


def queue_counts(conn: Connection, since: datetime) -> dict[str, dict[str, int]]:
    """Return {backend: {status: count}}: every waiting message, and the others created since
    `since` (the console's queues page: counting a million finished messages on every page view
    would be too slow)."""
    counts = Counter({(b, s): n for b, s, n in conn.execute(_WAITING)})
    # Counted here rather than by GROUP BY: without statistics SQLite would walk a status index
    # over every message instead of the primary-key range of the last day.
    recent = conn.execute(
        select(messages.c.backend_id, messages.c.status).where(
            messages.c.id >= first_id_since(conn, since - CLOCK_SLACK),
            messages.c.created_at >= since,
        )
    )
    counts.update((b, s) for b, s in recent if s not in WAITING_STATUSES)
    return _table(_names(conn), counts)


def totals(table: dict[str, dict[str, int]]) -> dict[str, int]:
    """Add up a {backend: {status: count}} table over the backends: {status: count}."""
    summed: Counter[str] = Counter()
    for per_status in table.values():
        summed.update(per_status)
    return dict(summed)


def oldest_waiting(conn: Connection) -> dict[str, datetime]:
    """Return, per backend, when its oldest queued or errored message was created."""
    firsts = (
        select(messages.c.backend_id, func.min(messages.c.id).label("first_id"))
        .where(messages.c.status.in_((QUEUED, ERRORED)))
        .group_by(messages.c.backend_id)
        .subquery()
    )
    rows = conn.execute(
        select(backends.c.name, messages.c.created_at)
        .select_from(firsts)
        .join(messages, messages.c.id == firsts.c.first_id)
        .join(backends, backends.c.id == firsts.c.backend_id)
    )
    return dict(rows.all())


def pending_count(conn: Connection, minutes: float) -> int:
    """Count queued messages (pull and push) that were queued more than `minutes` ago.

    The queue time is the last history entry that moved the message into Q (a requeue counts
    afresh); a message created after the cutoff cannot have been queued before it, and one
    without such an entry (rows written by other tools) counts from its creation.
    """
    cutoff = clock.now() - timedelta(minutes=minutes)
    queued_at = (
        select(func.max(status_changes.c.at))
        .where(
            status_changes.c.message_id == messages.c.id,
            status_changes.c.new_status == QUEUED,
            or_(status_changes.c.old_status.is_(None), status_changes.c.old_status != QUEUED),
        )
        .scalar_subquery()
    )
    query = (
        select(func.count())
        .select_from(messages)
        .where(and_(messages.c.status == QUEUED, messages.c.created_at < cutoff))
        .where(func.coalesce(queued_at, messages.c.created_at) < cutoff)
    )
    return int(conn.execute(query).scalar() or 0)
