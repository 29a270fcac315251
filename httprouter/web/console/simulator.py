"""The phone simulator (the legacy "message tester"): text the router as sender X on a backend.

The message goes through `router.receive`, exactly like a gateway's; the thread shows what the
apps answered, and the page polls for replies created later.
"""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from ...domain.messages import Connection as Link
from ...errors import ValidationError
from ...gateways.console import SIMULATOR_BACKEND
from ...store.log import conversation
from .. import current_router, route
from . import console_blueprint, form_text
from .filters import MAX_FILTER_LENGTH

bp = console_blueprint("console_simulator")

DEFAULT_BACKEND = SIMULATOR_BACKEND  # its replies are delivered to it: gateways/console.py
DEFAULT_SENDER = "+12065551212"
THREAD_LENGTH = 100
POLL_SECONDS = 2


def _who(values: Any) -> tuple[str, str]:
    backend = (values.get("backend") or DEFAULT_BACKEND).strip()
    sender = (values.get("sender") or DEFAULT_SENDER).strip()
    for name, value in (("backend", backend), ("sender", sender)):
        if len(value) > MAX_FILTER_LENGTH:
            raise ValidationError(
                f"{name} is longer than {MAX_FILTER_LENGTH} characters", field=name
            )
    return backend, sender


@route(bp, "/simulator", methods=["GET", "POST"])
def simulator() -> Response | str:
    router = current_router()
    backend, sender = _who(request.values)
    if request.method == "POST":
        text = form_text()
        router.receive(text, Link(backend, sender))
        return redirect(url_for(".simulator", backend=backend, sender=sender))
    identity = router.normalize_identity(sender)
    with router.read() as conn:
        rows = conversation(conn, backend, identity, limit=THREAD_LENGTH)
    return render_template(
        "console/simulator.html",
        backend=backend,
        sender=sender,
        identity=identity,
        rows=rows,
        poll_seconds=POLL_SECONDS,
    )


@route(bp, "/simulator/thread")
def simulator_thread() -> str:
    router = current_router()
    backend, sender = _who(request.args)
    after = request.args.get("after", "0")
    if not after.isdigit():
        raise ValidationError("after must be a message id", field="after")
    with router.read() as conn:
        identity = router.normalize_identity(sender)
        rows = conversation(conn, backend, identity, after_id=int(after), limit=THREAD_LENGTH)
    return render_template("console/_thread.html", rows=rows)
