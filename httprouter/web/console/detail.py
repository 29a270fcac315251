"""One message in full: its history, its push attempts, its parent and its replies; send again."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request
from sqlalchemy import Connection
from werkzeug.wrappers import Response

from ...domain.statuses import OUTGOING, STATUS_NAMES
from ...errors import NotFoundError
from ...redact import redact_text
from ...store.detail import message_detail
from ...store.engine import translate_errors
from ...store.history import requeue
from ...store.rows import select_messages
from ...store.schema import messages as m
from .. import get_router, route
from . import console_blueprint
from .security import safe_next

bp = console_blueprint("console_detail")


def _message(conn: Connection, message_id: int) -> Any:
    row = conn.execute(select_messages().where(m.c.id == message_id)).first()
    if row is None:
        raise NotFoundError(f"no message with id {message_id}", field="id")
    return row


@route(bp, "/messages/<int:message_id>")
def message(message_id: int) -> str:
    with get_router().read() as conn:
        detail = message_detail(conn, message_id)
    if detail is None:
        raise NotFoundError(f"no message with id {message_id}", field="id")
    row = detail.message
    # The dispatcher stores requests redacted already; redact again in case a secret slipped in.
    attempts = [
        {**a._asdict(), "request": redact_text(a.request) if a.request else None}
        for a in detail.attempts
    ]
    return render_template(
        "console/detail.html",
        message=row,
        history=detail.history,
        attempts=attempts,
        parent=detail.parent,
        replies=detail.replies,
        can_resend=row.direction == OUTGOING and row.status in ("E", "F"),
    )


@route(bp, "/messages/<int:message_id>/resend", methods=["POST"])
def resend(message_id: int) -> Response:
    router = get_router()
    with router.read() as conn:
        backend = _message(conn, message_id).backend
    push = get_router().gateways.pushes(backend)
    with translate_errors(), router.engine.begin() as conn:
        result = requeue(conn, message_id, push=push, detail={"by": g.console_user.username})
    if result.changed:
        flash(f"Message {message_id} is queued again.", "ok")
    else:
        status = STATUS_NAMES.get(result.old, result.old)
        flash(f"Message {message_id} is {status}, not errored or failed: left alone.", "error")
    return redirect(safe_next(request.form.get("next")))
