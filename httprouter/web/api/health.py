"""/healthz (the process answers) and /readyz (the database answers and is migrated to head).

Both are open (no password) and say nothing secret, so load balancers and container runtimes
can call them.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ...errors import StorageUnavailable
from ...migrations import HEAD_REVISION
from ...store.schema import schema_revision
from .. import current_router, route

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@route(bp, "/healthz", methods=["GET"])
def healthz() -> Response:
    return jsonify(status="ok")


@route(bp, "/readyz", methods=["GET"])
def readyz() -> Response:
    router = current_router()
    checks: dict[str, Any] = {}
    try:
        with router.read() as conn:
            current = schema_revision(conn)
        checks["database"] = "ok"
    except (SQLAlchemyError, StorageUnavailable) as exc:
        log.warning("not ready: database unavailable (%s)", type(exc).__name__)
        checks["database"] = "unavailable"
        current = None
    checks["migrations"] = {
        "current": current,
        "head": HEAD_REVISION,
        "status": "ok" if current == HEAD_REVISION else "behind",
    }
    ready = checks["database"] == "ok" and current == HEAD_REVISION
    response = jsonify(status="ok" if ready else "unavailable", checks=checks)
    if not ready:
        response.status_code = 503
        response.headers["Retry-After"] = "5"
    return response
