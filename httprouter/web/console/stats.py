"""Numbers for the queues dashboard: counts, the oldest waiting message, traffic per hour.

No Flask here. The hourly chart is plain SVG geometry computed here and drawn by the template.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ... import clock
from ...domain.statuses import ERRORED, FAILED, INCOMING, OUTGOING, QUEUED
from ...store.schema import backends
from ...store.schema import messages as m

# Column order of the counts table: waiting first, then the outcomes.
STATUS_ORDER = ("Q", "E", "P", "S", "D", "F", "C", "R", "H")
HOURS = 24
WAITING = ("P", "Q", "E")
# Ids and creation times come from different moments of a transaction: search a little earlier.
CLOCK_SLACK = timedelta(hours=1)
SERIES = ("inbound", "outbound", "failed")


def first_id_since(conn: Connection, moment: datetime) -> int:
    """Return the first message id created at or after `moment` (max id + 1 when none).

    Ids grow with creation time, so a binary search of primary-key lookups finds it without
    scanning (there is no index on created_at).
    """
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
    return best


def counts_by_backend(conn: Connection, since: datetime) -> dict[str, dict[str, int]]:
    """Return {backend: {status: count}}: every waiting message, and the others created since
    `since` (counting a million finished messages on every page view would be too slow)."""
    names = dict(conn.execute(select(backends.c.id, backends.c.name)).all())
    table: dict[str, dict[str, int]] = {}
    for backend_id, status, count in conn.execute(
        select(m.c.backend_id, m.c.status, func.count())
        .where(m.c.status.in_(WAITING))
        .group_by(m.c.backend_id, m.c.status)
    ).all():
        table.setdefault(names[backend_id], {})[status] = count
    # Counted here rather than by GROUP BY: without statistics SQLite would walk a status index
    # over every message instead of the primary-key range of the last day.
    recent = Counter(
        (row.backend_id, row.status)
        for row in conn.execute(
            select(m.c.backend_id, m.c.status).where(
                m.c.id >= first_id_since(conn, since - CLOCK_SLACK), m.c.created_at >= since
            )
        )
    )
    for (backend_id, status), count in recent.items():
        if status not in WAITING:
            table.setdefault(names[backend_id], {})[status] = count
    return dict(sorted(table.items()))


def oldest_waiting(conn: Connection) -> dict[str, datetime]:
    """Return, per backend, when its oldest queued or errored message was created."""
    firsts = (
        select(m.c.backend_id, func.min(m.c.id).label("first_id"))
        .where(m.c.status.in_((QUEUED, ERRORED)))
        .group_by(m.c.backend_id)
        .subquery()
    )
    rows = conn.execute(
        select(backends.c.name, m.c.created_at)
        .select_from(firsts)
        .join(m, m.c.id == firsts.c.first_id)
        .join(backends, backends.c.id == firsts.c.backend_id)
    ).all()
    return {name: created for name, created in rows}


def age_text(since: datetime, now: datetime | None = None) -> str:
    """Say how long ago `since` was, e.g. `45 s`, `12 min`, `3 h 05 min`, `2 d 4 h`."""
    seconds = max(int(((now or clock.now()) - since).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


def _hour(conn: Connection, column: Any) -> Any:
    if conn.dialect.name == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.substr(column, 1, 13) + ":00"  # stored as text: "YYYY-MM-DD HH:MM:SS.ffffff"


def _as_hour(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC, minute=0, second=0, microsecond=0)


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


@dataclass(frozen=True)
class Bar:
    """One bar of the chart, in SVG user units."""

    series: str
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str


CHART_WIDTH = 720
CHART_HEIGHT = 200
CHART_TOP = 10
CHART_BOTTOM = 180


def chart_bars(traffic: list[dict[str, Any]]) -> tuple[list[Bar], int]:
    """Lay out the hourly traffic as grouped bars; return the bars and the scale's top value."""
    top = max([1] + [row[s] for row in traffic for s in SERIES])
    slot = CHART_WIDTH / max(len(traffic), 1)
    width = (slot - 4) / len(SERIES)
    span = CHART_BOTTOM - CHART_TOP
    bars = []
    for i, row in enumerate(traffic):
        label = row["hour"].strftime("%H:00")
        for j, series in enumerate(SERIES):
            height = round(span * row[series] / top, 1)
            bars.append(
                Bar(
                    series=series,
                    x=round(i * slot + 2 + j * width, 1),
                    y=round(CHART_BOTTOM - height, 1),
                    width=round(width, 1),
                    height=height,
                    value=row[series],
                    label=label,
                )
            )
    return bars, top
