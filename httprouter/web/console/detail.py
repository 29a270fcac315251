"""One message in full: its history, its push attempts, its parent and its replies; send again."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request
from werkzeug.wrappers import Response

from ...delivery.resend import resend as resend_messages
from ...domain.statuses import OUTGOING, STATUS_NAMES
from ...errors import NotFoundError
from ...redact import redact_text
from ...store.detail import message_detail
from .. import current_router, route
from . import console_blueprint
from .security import safe_next

bp = console_blueprint("console_detail")


@route(bp, "/messages/<int:message_id>")
def message(message_id: int) -> str:
    with current_router().read() as conn:
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
    try:
        [result] = resend_messages(current_router(), [message_id], by=g.console_user.username)
    except NotFoundError:
        raise NotFoundError(f"no message with id {message_id}", field="id") from None
    if result.changed:
        flash(f"Message {message_id} is queued again.", "ok")
    else:
        status = STATUS_NAMES.get(result.old, result.old)
        flash(f"Message {message_id} is {status}, not errored or failed: left alone.", "error")
    return redirect(safe_next(request.form.get("next")))
