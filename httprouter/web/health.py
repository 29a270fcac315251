"""/healthz (the process answers) and /readyz (the database answers and is migrated to head).

Both are open (no password) and say nothing secret, so load balancers and container runtimes
can call them.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import StorageUnavailable
from ..migrate import current_revision, head_revision
from . import get_router, route

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@route(bp, "/healthz", methods=["GET"])
def healthz() -> Response:
    return jsonify(status="ok")


@route(bp, "/readyz", methods=["GET"])
def readyz() -> Response:
    router = get_router()
    checks: dict[str, Any] = {}
    head = _head(router.engine)
    try:
        with router.read() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
        current = current_revision(router.engine)
    except (SQLAlchemyError, StorageUnavailable) as exc:
        log.warning("not ready: database unavailable (%s)", type(exc).__name__)
        checks["database"] = "unavailable"
        current = None
    checks["migrations"] = {
        "current": current,
        "head": head,
        "status": "ok" if current == head else "behind",
    }
    ready = checks["database"] == "ok" and current == head
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    if not ready:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
    return response


def _head(engine: Any) -> str | None:
    """The newest migration the code knows (read once per app)."""
    cached = current_app.extensions.get("httprouter.head_revision")
    if cached is None:
        cached = head_revision(engine)
        current_app.extensions["httprouter.head_revision"] = cached
    return cached
