"""/router/messages and /router/messages/<id>: read the message log (password-protected)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify

from ...domain.statuses import INCOMING, OUTGOING, STATUS_LETTERS, STATUS_NAMES
from ...errors import NotFoundError, ValidationError
from ...store.detail import MessageDetail, message_detail
from ...store.log import LogFilter, list_messages
from ...store.rows import iso, message_json
from .. import get_router, route
from ..params import authorize, int_param, request_params, text_param

bp = Blueprint("messages", __name__)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
DIRECTIONS = {"i": INCOMING, "in": INCOMING, "incoming": INCOMING, "inbound": INCOMING}
DIRECTIONS |= {"o": OUTGOING, "out": OUTGOING, "outgoing": OUTGOING, "outbound": OUTGOING}


@route(bp, "/router/messages", methods=["GET"])
def message_list() -> Response:
    params = request_params()
    backend = text_param(params, "backend") or None
    authorize(params, backend)
    contact = text_param(params, "contact") or None
    wanted = LogFilter(
        direction=_direction(params),
        statuses=_statuses(params),
        backend=backend,
        contact=get_router().normalize_identity(contact) if contact else None,
        text=text_param(params, "q") or None,
        since=_time(params, "since"),
        until=_time(params, "until"),
        before_id=int_param(params, "before_id", minimum=1),
        limit=int_param(params, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        or DEFAULT_LIMIT,
    )
    with get_router().read() as conn:
        page, next_before = list_messages(conn, wanted)
    return jsonify(messages=page, next_before_id=next_before)


@route(bp, "/router/messages/<int(max=9223372036854775807):message_id>", methods=["GET"])
def message_view(message_id: int) -> Response:
    authorize(request_params())
    with get_router().read() as conn:
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


def _direction(params: dict[str, Any]) -> str | None:
    value = text_param(params, "direction")
    if not value:
        return None
    found = DIRECTIONS.get(value.strip().lower())
    if found is None:
        raise ValidationError("direction must be I or O", field="direction")
    return found


def _statuses(params: dict[str, Any]) -> list[str]:
    value = text_param(params, "status")
    letters = []
    for part in (value or "").split(","):
        word = part.strip()
        if not word:
            continue
        letter = word.upper() if word.upper() in STATUS_NAMES else STATUS_LETTERS.get(word.lower())
        if letter is None:
            raise ValidationError(f"unknown status {word[:20]!r}", field="status")
        letters.append(letter)
    return letters


def _time(params: dict[str, Any], name: str) -> datetime | None:
    value = text_param(params, name)
    if not value:
        return None
    text = value.strip()
    if "T" in text and " " in text:  # a "+hh:mm" offset whose "+" a query string made a space
        text = text.replace(" ", "+")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{name} must be an ISO 8601 time", field=name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
