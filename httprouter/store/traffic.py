"""Traffic over the last day: inbound, outbound and failed messages per hour, read without a scan.

There is no index on created_at; ids grow with creation time, so `first_id_since` finds where a
period begins by a binary search of primary-key lookups, and the counts read that id range.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from .. import clock
from ..domain.statuses import FAILED, INCOMING, OUTGOING
from .schema import messages as m

HOURS = 24
# Ids and creation times come from different moments of a transaction: search a little earlier.
CLOCK_SLACK = timedelta(hours=1)


def first_id_since(conn: Connection, moment: datetime) -> int:
    """Return the first message id created at or after `moment` (max id + 1 when none)."""
    # Two queries: SQLite answers a lone min() or max() from the index, but scans for both.
    low = conn.execute(select(func.min(m.c.id))).scalar()
    high = conn.execute(select(func.max(m.c.id))).scalar()
    if low is None or high is None:
        return 0
    best = high + 1
    while low <= high:
        middle = (low + high) // 2
        row = conn.execute(
            select(m.c.id, m.c.created_at).where(m.c.id >= middle).order_by(m.c.id).limit(1)
        ).first()
        if row is None or row.id > high:
            high = middle - 1
        elif row.created_at >= moment:
            best, high = row.id, middle - 1
        else:
            low = row.id + 1
    return int(best)


def _hour(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.substr(column, 1, 13) + ":00"  # stored as text: "YYYY-MM-DD HH:MM:SS.ffffff"


def _as_hour(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    hour: datetime = value.replace(tzinfo=UTC, minute=0, second=0, microsecond=0)
    return hour


def hourly_traffic(conn: Connection, now: datetime | None = None) -> list[dict[str, Any]]:
    """Return the last 24 hours, oldest first: inbound, outbound and failed messages per hour."""
    end = (now or clock.now()).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(hours=HOURS)
    hours = [start + timedelta(hours=i) for i in range(HOURS)]
    buckets = {h: {"hour": h, "inbound": 0, "outbound": 0, "failed": 0} for h in hours}
    created = _hour(conn, m.c.created_at)
    for hour, direction, count in conn.execute(
        select(created, m.c.direction, func.count())
        .where(m.c.id >= first_id_since(conn, start - CLOCK_SLACK), m.c.created_at >= start)
        .group_by(created, m.c.direction)
    ).all():
        key = "inbound" if direction == INCOMING else "outbound" if direction == OUTGOING else ""
        if key and _as_hour(hour) in buckets:
            buckets[_as_hour(hour)][key] += count
    failed = _hour(conn, m.c.updated_at)
    for hour, count in conn.execute(
        select(failed, func.count())
        .where(m.c.status == FAILED, m.c.updated_at >= start)
        .group_by(failed)
    ).all():
        if _as_hour(hour) in buckets:
            buckets[_as_hour(hour)]["failed"] += count
    return [buckets[h] for h in hours]
