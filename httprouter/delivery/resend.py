"""Queueing errored or failed outbound messages again: `httprouter resend` and the console's
"send again", through one function that wakes the dispatchers afterwards."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from .. import clock
from ..store.engine import translate_errors
from ..store.history import StatusResult, read_current, requeue, resendable_ids
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


def resend(router: Any, message_ids: Sequence[int], *, by: str) -> list[StatusResult]:
    """Queue these errored or failed outbound messages again, in one transaction, and wake the
    dispatchers; other statuses are left alone (and recorded as refused). `by` says who asked.

    The one resend: `httprouter resend` (through `requeue_matching`) and the console's "send
    again" both come here. An unknown id raises NotFoundError before anything is written.
    """
    with translate_errors(), router.engine.begin() as conn:
        results, pushed = _requeue(router, conn, message_ids, by)
    if pushed:
        notify_push(router.engine)
    return results


def requeue_matching(
    router: Any, statuses: list[str], backend: str | None = None, since: datetime | None = None
) -> int:
    """Queue again every outbound message in `statuses` (on `backend`, created since `since`),
    BATCH at a time; return how many were queued again."""
    count = 0
    pushed = False
    last = 0
    while True:
        with translate_errors(), router.engine.begin() as conn:
            ids = resendable_ids(
                conn, statuses, backend=backend, since=since, after_id=last, limit=BATCH
            )
            results, batch_pushed = _requeue(router, conn, ids, "httprouter resend")
        if not ids:
            break
        count += sum(result.changed for result in results)
        pushed = pushed or batch_pushed
        last = ids[-1]
    if pushed:
        notify_push(router.engine)
    return count


def _requeue(
    router: Any, conn: Connection, message_ids: Sequence[int], by: str
) -> tuple[list[StatusResult], bool]:
    """Requeue each message; tell whether any of them now waits for a dispatcher."""
    current = read_current(conn, message_ids)
    results = []
    pushed = False
    for message_id in message_ids:
        found = current.get(message_id)
        push = found is not None and router.gateways.pushes(found.backend)
        result = requeue(conn, message_id, push=push, detail={"by": by})
        results.append(result)
        pushed = pushed or (push and result.changed)
    return results, pushed
