"""/router/outbox: polling gateways take queued messages, each leased to one poller at a time.

Each message is shown as its backend's engine shows it to its poller (`outbox_entry`; unchanged
but for engines of pollers that need it so).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from ...store.outbox import DEFAULT_LIMIT, MAX_LIMIT, claim
from ...store.rows import iso
from .. import current_router, route
from ..params import authorize, gateway_seen, int_param, request_params, text_param

bp = Blueprint("outbox", __name__)


@route(bp, "/router/outbox", methods=["GET"])
def outbox() -> Response:
    params = request_params()
    backend = text_param(params, "backend") or None
    authorize(params, backend)
    if backend is not None:
        gateway_seen(backend)
    limit = int_param(params, "limit", minimum=1, maximum=MAX_LIMIT) or DEFAULT_LIMIT
    lease = claim(
        current_router().engine,
        lease_seconds=current_app.config["OUTBOX_LEASE_SECONDS"],
        backend=backend,
        limit=limit,
    )
    return jsonify(
        outbox=shown(lease.messages),
        status="Outbox follows.",
        lease_expires=iso(lease.expires_at) if lease.messages else None,
    )


def shown(messages: Iterable[dict[str, Any]], to: str | None = None) -> list[dict[str, Any]]:
    """The queued messages as a poller is shown them by the engine of backend `to` (the
    caller's), or of each message's own backend."""
    registry = current_router().gateways
    found = []
    for message in messages:
        engine = registry.get(to or message["backend"]) if hasattr(registry, "get") else None
        entry = engine.outbox_entry(message) if engine is not None else message
        if entry is not None:
            found.append(entry)
    return found
