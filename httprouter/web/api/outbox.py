"""/router/outbox: polling gateways take queued messages, each leased to one poller at a time."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from ...store.outbox import DEFAULT_LIMIT, MAX_LIMIT, claim
from ...store.rows import iso
from .. import get_router, route
from ..params import authorize, int_param, request_params, text_param

bp = Blueprint("outbox", __name__)


@route(bp, "/router/outbox", methods=["GET"])
def outbox() -> Response:
    params = request_params()
    backend = text_param(params, "backend") or None
    authorize(params, backend)
    limit = int_param(params, "limit", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
    lease = claim(
        get_router().engine,
        lease_seconds=current_app.config["OUTBOX_LEASE_SECONDS"],
        backend=backend,
        limit=limit,
    )
    return jsonify(
        outbox=lease.messages,
        status="Outbox follows.",
        lease_expires=iso(lease.expires_at) if lease.messages else None,
    )
