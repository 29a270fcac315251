"""The send form: one text to one or more recipients on a backend, through `router.send`."""

from __future__ import annotations

import re

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ...errors import ValidationError
from ...store.log import backend_names
from .. import current_router, route
from . import console_blueprint, form_text

bp = console_blueprint("console_send")

MAX_RECIPIENTS = 1000
_SEPARATORS = re.compile(r"[\n,;]+")


def parse_recipients(raw: str) -> list[str]:
    """Split recipients on newlines, commas or semicolons; drop blanks and repeats."""
    found: list[str] = []
    for item in _SEPARATORS.split(raw):
        item = item.strip()
        if item and item not in found:
            found.append(item)
    return found


@route(bp, "/send", methods=["GET", "POST"])
def send() -> Response | str:
    router = current_router()
    if request.method == "GET":
        with router.read() as conn:
            names = backend_names(conn)
        return render_template(
            "console/send.html",
            backend_names=names,
            backend=request.args.get("backend", ""),
            to=request.args.get("to", ""),
            max_length=current_app.config["MAX_MESSAGE_LENGTH"],
        )
    backend = request.form.get("backend", "").strip()
    if not backend:
        raise ValidationError("backend is required", field="backend")
    recipients = parse_recipients(request.form.get("to", ""))
    if not recipients:
        raise ValidationError("to needs at least one recipient", field="to")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValidationError(f"to has more than {MAX_RECIPIENTS} recipients", field="to")
    text = form_text()
    sent = router.send(text, [(backend, r) for r in recipients])
    ids = ", ".join(str(msg.id) for msg in sent)
    flash(f"Created {len(sent)} message(s) on {backend}: {ids}.", "ok")
    return redirect(url_for("console_log.index", direction="O", backend=backend))
