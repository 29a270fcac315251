"""/router/messages and /router/messages/<id>: read the message log (password-protected)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from ...domain.params import direction_param, statuses_param, time_param
from ...domain.statuses import STATUS_NAMES
from ...errors import NotFoundError
from ...store.detail import MessageDetail, message_detail
from ...store.log import LogFilter, log_page
from ...store.rows import iso, message_json
from .. import current_router, route
from ..params import authorize, int_param, request_params, text_param

bp = Blueprint("messages", __name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@route(bp, "/router/messages", methods=["GET"])
def message_list() -> Response:
    params = request_params()
    backend = text_param(params, "backend") or None
    authorize(params, backend)
    contact = text_param(params, "contact") or None
    wanted = LogFilter(
        direction=direction_param(params),
        statuses=statuses_param(params),
        backend=backend,
        contact=current_router().normalize_identity(contact) if contact else None,
        text=text_param(params, "q") or None,
        since=time_param(params, "since"),
        until=time_param(params, "until"),
        before_id=int_param(params, "before_id", minimum=1),
        limit=int_param(params, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        or DEFAULT_LIMIT,
    )
    with current_router().read() as conn:
        page = log_page(conn, wanted)
    # A full page names the next one (which may turn out empty), as it always has.
    next_before = page.oldest_id if len(page.rows) == wanted.limit else None
    return jsonify(
        messages=[message_json(row._mapping) for row in page.rows], next_before_id=next_before
    )


@route(bp, "/router/messages/<int(max=9223372036854775807):message_id>", methods=["GET"])
def message_view(message_id: int) -> Response:
    authorize(request_params())
    with current_router().read() as conn:
        detail = message_detail(conn, message_id)
    if detail is None:
        raise NotFoundError(f"no message with id {message_id}", field="message_id")
    return jsonify(_detail_json(detail))


def _detail_json(detail: MessageDetail) -> dict[str, Any]:
    parent = detail.parent
    return {
        "message": message_json(detail.message._mapping),
        "history": [_change_json(h._mapping) for h in detail.history],
        "attempts": [_attempt_json(a._mapping) for a in detail.attempts],
        "responses": [message_json(r._mapping) for r in detail.replies],
        "in_response_to": message_json(parent._mapping) if parent is not None else None,
    }


def _change_json(row: Any) -> dict[str, Any]:
    old, new = row["old_status"], row["new_status"]
    return {
        "at": iso(row["at"]),
        "old_status": old,
        "new_status": new,
        "status_name": STATUS_NAMES.get(new, new),
        "changed": old != new,
        "cause": row["cause"],
        "detail": row["detail"],
    }


def _attempt_json(row: Any) -> dict[str, Any]:
    return {
        "number": row["number"],
        "worker": row["worker"],
        "started": iso(row["started_at"]),
        "finished": iso(row["finished_at"]),
        "outcome": row["outcome"],
        "request": row["request"],
        "response_status": row["response_status"],
        "response_body": row["response_body"],
        "error": row["error"],
    }
