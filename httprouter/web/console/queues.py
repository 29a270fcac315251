"""The queues dashboard: counts per backend and status, the oldest waiting message per backend,
the failed messages (with "send again"), the inbound / outbound / failed traffic per hour, and
the gateways' latest alerts."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template

from ... import clock
from ...domain.statuses import FAILED
from ...store.alerts import recent_alerts
from ...store.rows import select_messages
from ...store.schema import messages as m
from .. import get_router, route
from . import console_blueprint
from .stats import (
    CHART_BOTTOM,
    CHART_HEIGHT,
    CHART_WIDTH,
    HOURS,
    STATUS_ORDER,
    age_text,
    chart_bars,
    counts_by_backend,
    hourly_traffic,
    oldest_waiting,
)

bp = console_blueprint("console_queues")

FAILED_SHOWN = 50
ALERTS_SHOWN = 20


@route(bp, "/queues")
def queues() -> str:
    now = clock.now()
    with get_router().read() as conn:
        counts = counts_by_backend(conn, now - timedelta(hours=HOURS))
        oldest = oldest_waiting(conn)
        failed = conn.execute(
            select_messages()
            .where(m.c.status == FAILED)
            .order_by(m.c.id.desc())
            .limit(FAILED_SHOWN)
        ).all()
        traffic = hourly_traffic(conn, now)
        alerts = recent_alerts(conn, ALERTS_SHOWN)
    bars, top = chart_bars(traffic)
    totals = {s: sum(row.get(s, 0) for row in counts.values()) for s in STATUS_ORDER}
    return render_template(
        "console/queues.html",
        counts=counts,
        totals=totals,
        statuses=[s for s in STATUS_ORDER if totals[s]] or ["Q"],
        oldest={name: (created, age_text(created, now)) for name, created in oldest.items()},
        failed=failed,
        traffic=traffic,
        bars=bars,
        top=top,
        chart={"width": CHART_WIDTH, "height": CHART_HEIGHT, "bottom": CHART_BOTTOM},
        alerts=alerts,
    )
