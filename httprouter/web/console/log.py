"""The message log at /router/console: newest first, filters in the URL, keyset paging.

The page refreshes its table every few seconds from `?partial=1` (the same filters and cursor),
so an operator can leave it open.
"""

from __future__ import annotations

from flask import render_template, request

from ...domain.statuses import STATUS_NAMES
from ...store.log import backend_names, log_page
from .. import current_router, route
from . import console_blueprint
from .filters import parse_filters

bp = console_blueprint("console_log")

REFRESH_SECONDS = 5


@route(bp, "")
def index() -> str:
    filters = parse_filters(request.args)
    with current_router().read() as conn:
        page = log_page(conn, filters.wanted)
        if request.args.get("partial"):
            return render_template("console/_log_rows.html", page=page, filters=filters)
        names = backend_names(conn)
    return render_template(
        "console/log.html",
        page=page,
        filters=filters,
        backend_names=names,
        statuses=STATUS_NAMES,
        refresh_seconds=REFRESH_SECONDS,
    )
