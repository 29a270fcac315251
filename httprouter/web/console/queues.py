"""The queues dashboard: counts per backend and status, the oldest waiting message per backend,
the failed messages (with "send again"), the inbound / outbound / failed traffic per hour, and
the gateways' latest alerts."""

from __future__ import annotations

from datetime import timedelta

from flask import render_template

from ... import clock
from ...domain.statuses import FAILED
from ...store.alerts import recent_alerts
from ...store.counts import oldest_waiting, queue_counts, totals
from ...store.log import LogFilter, log_page
from ...store.seen import last_seen
from ...store.traffic import HOURS, hourly_traffic
from .. import current_router, route
from . import console_blueprint
from .stats import CHART_BOTTOM, CHART_HEIGHT, CHART_WIDTH, STATUS_ORDER, age_text, chart_bars

bp = console_blueprint("console_queues")

FAILED_SHOWN = 50
ALERTS_SHOWN = 20


@route(bp, "/queues")
def queues() -> str:
    now = clock.now()
    with current_router().read() as conn:
        counts = queue_counts(conn, now - timedelta(hours=HOURS))
        oldest = oldest_waiting(conn)
        failed = log_page(conn, LogFilter(statuses=[FAILED], limit=FAILED_SHOWN)).rows
        traffic = hourly_traffic(conn, now)
        alerts = recent_alerts(conn, ALERTS_SHOWN)
        seen = last_seen(conn)
    bars, top = chart_bars(traffic)
    summed = totals(counts)
    per_status = {s: summed.get(s, 0) for s in STATUS_ORDER}
    return render_template(
        "console/queues.html",
        counts=counts,
        totals=per_status,
        statuses=[s for s in STATUS_ORDER if per_status[s]] or ["Q"],
        oldest={name: (created, age_text(created, now)) for name, created in oldest.items()},
        failed=failed,
        traffic=traffic,
        bars=bars,
        top=top,
        chart={"width": CHART_WIDTH, "height": CHART_HEIGHT, "bottom": CHART_BOTTOM},
        alerts=alerts,
        seen={name: (at, age_text(at, now)) for name, at in sorted(seen.items())},
    )
