"""/router/status: the legacy monitor text, and a JSON form with counts per backend and status.

The text form (`STATUS: OK` / `STATUS: ERROR`, `PENDING: n`) is public like the legacy one; the
JSON form (`Accept: application/json` or `?format=json`) names backends and so needs the password.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from ...domain.statuses import STATUS_NAMES
from ...store.counts import pending_count, status_counts, totals
from ...store.rows import iso
from ...store.seen import last_seen, seconds_ago
from .. import current_router, route
from ..params import authorize, request_params

bp = Blueprint("status", __name__)


def _wants_json(params: dict[str, Any]) -> bool:
    if str(params.get("format", "")).lower() == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/plain", "application/json"])
    return best == "application/json"


@route(bp, "/router/status", methods=["GET"])
def status() -> Response:
    params = request_params()
    minutes = current_app.config["STATUS_PENDING_MINUTES"]
    as_json = _wants_json(params)
    if as_json:
        authorize(params)
    with current_router().read() as conn:
        pending = pending_count(conn, minutes)
        counts = status_counts(conn) if as_json else {}
        seen = last_seen(conn) if as_json else {}
    state = "OK" if pending == 0 else "ERROR"
    if not as_json:
        return Response(f"STATUS: {state}\nPENDING: {pending}\n", mimetype="text/plain")
    summed = totals(counts)
    return jsonify(
        status=state,
        pending=pending,
        pending_minutes=minutes,
        backends=counts,
        totals=summed,
        status_names={letter: STATUS_NAMES[letter] for letter in summed if letter in STATUS_NAMES},
        last_seen={
            name: {"date": iso(at), "seconds_ago": seconds_ago(at)}
            for name, at in sorted(seen.items())
        },
    )
