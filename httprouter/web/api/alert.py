"""/router/alert: a gateway reports its own trouble (a polling phone posts `password`,
`subject` and `body` when it loses power or its messages pile up); stored and shown on the
console's queues page.

A phone may name its backend only in the subject (`[clinic] battery at 5%`), so a `backend`
parameter, else that prefix, says which backend's password also opens this call. A body may
repeat the phone's settings, password included: every credential is masked before it is stored
or logged.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint, Response, current_app, jsonify

from ...auth import expected_passwords
from ...domain.identities import MAX_BACKEND_LENGTH
from ...errors import ValidationError
from ...redact import redact_text
from ...store.alerts import record_alert
from .. import current_router, route
from ..params import authorize, request_params, required_text, supplied_password, text_param

bp = Blueprint("alert", __name__)
log = logging.getLogger(__name__)

NAMED = re.compile(r"^\s*\[([^\]\s]{1,100})\]")  # the app's "[backend] subject"


@route(bp, "/router/alert", methods=["POST"])
def alert() -> Response:
    params = request_params()
    subject = required_text(params, "subject")
    body = text_param(params, "body") or ""
    named = NAMED.match(subject)
    backend = text_param(params, "backend") or (named.group(1) if named else None)
    if backend is not None and len(backend) > MAX_BACKEND_LENGTH:
        raise ValidationError(
            f"backend is longer than {MAX_BACKEND_LENGTH} characters", field="backend"
        )
    authorize(params, backend)
    secrets = [supplied_password(params) or "", *expected_passwords(current_app.config, backend)]
    subject, body = redact_text(subject, secrets), redact_text(body, secrets)
    stored = record_alert(current_router().engine, backend=backend, subject=subject, body=body)
    log.warning("alert from %s: %s", backend or "a gateway", stored["subject"][:200])
    return jsonify(status="Alert recorded.", alert=stored)
