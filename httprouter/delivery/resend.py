"""Queueing errored or failed outbound messages again (`httprouter resend`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from .. import clock
from ..domain.statuses import OUTGOING
from ..store.history import requeue
from ..store.schema import backends, messages
from .wakeup import notify_push

BATCH = 500
_AGO = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_since(value: str) -> datetime:
    """Read `--since`: an ISO 8601 date or time (UTC unless it says), or an age like 2h."""
    value = value.strip()
    match = _AGO.match(value)
    if match:
        return clock.now() - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is neither an ISO date/time nor an age like 30m, 2h, 1d"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def requeue_matching(
    router: Any, statuses: list[str], backend: str | None = None, since: datetime | None = None
) -> int:
    """Queue again every outbound message in `statuses` (on `backend`, created since `since`)."""
    query = (
        select(messages.c.id, backends.c.name)
        .join(backends, backends.c.id == messages.c.backend_id)
        .where(messages.c.direction == OUTGOING, messages.c.status.in_(statuses))
        .order_by(messages.c.id)
    )
    if backend is not None:
        query = query.where(backends.c.name == backend)
    if since is not None:
        query = query.where(messages.c.created_at >= since)
    count = 0
    pushed = False
    last = 0
    while True:
        with router.engine.begin() as conn:
            rows = conn.execute(query.where(messages.c.id > last).limit(BATCH)).all()
            for row in rows:
                push = router.gateways.pushes(row.name)
                result = requeue(conn, row.id, push=push, detail={"by": "httprouter resend"})
                count += result.changed
                pushed = pushed or (push and result.changed)
        if not rows:
            break
        last = rows[-1].id
    if pushed:
        notify_push(router.engine)
    return count
