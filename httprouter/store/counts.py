"""Queue health: how many queued messages wait too long, and counts per backend and status."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Connection, and_, func, or_, select

from .. import clock
from ..domain.statuses import OUTGOING, QUEUED, WAITING_STATUSES
from .schema import backends, messages, status_changes


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


def status_counts(conn: Connection) -> dict[str, dict[str, int]]:
    """Return {backend: {status letter: count}} over every message.

    Counted by backend id, names added after: the count then reads only the (status, backend,
    id) index, where a join to backends would fetch every message row.
    """
    names = dict(conn.execute(select(backends.c.id, backends.c.name)).all())
    rows = conn.execute(
        select(messages.c.backend_id, messages.c.status, func.count()).group_by(
            messages.c.status, messages.c.backend_id
        )
    ).all()
    counts: dict[str, dict[str, int]] = {}
    for backend_id, status, count in sorted(rows, key=lambda r: (names[r[0]], r[1])):
        counts.setdefault(names[backend_id], {})[status] = count
    return counts


def waiting_counts(conn: Connection) -> dict[tuple[str, str], int]:
    """{(backend, status): count} of outbound messages waiting to leave, every pair present.

    Counted by backend id and status, names added after (see `status_counts`).
    """
    names = dict(conn.execute(select(backends.c.id, backends.c.name)).all())
    rows = conn.execute(
        select(messages.c.backend_id, messages.c.status, func.count())
        .where(messages.c.status.in_(WAITING_STATUSES), messages.c.direction == OUTGOING)
        .group_by(messages.c.status, messages.c.backend_id)
    ).all()
    counts = {(name, status): 0 for name in sorted(names.values()) for status in WAITING_STATUSES}
    for backend_id, status, count in rows:
        counts[(names[backend_id], status)] = count
    return counts
