"""The phase runner: every app's hooks over one message, in the order RapidSMS runs them.

Inbound, in app order: `filter` (True drops the message), `parse`, `handle` (the first True stops
later apps' `handle`), `default` (only when nothing handled it), `cleanup` (always, once past
`filter`). Outbound, in reverse app order: `outgoing` (False cancels the message). An app that
raises is logged and its error recorded on the message; the other apps still run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from .domain.messages import IncomingMessage, OutgoingMessage
from .store import metrics

log = logging.getLogger(__name__)

INCOMING_PHASES = ("filter", "parse", "handle", "default", "cleanup")


def app_name(app: Any) -> str:
    """An app's name in logs and message history."""
    return getattr(app, "name", None) or type(app).__name__


def _call(app: Any, phase: str, msg: Any, errors: list[str]) -> Any:
    hook = getattr(app, phase, None)
    if hook is None:  # apps are duck-typed: a phase it does not define is skipped
        return None
    try:
        return hook(msg)
    except Exception as exc:
        errors.append(f"{app_name(app)}.{phase}: {type(exc).__name__}: {exc}")
        log.exception(
            "app %s raised in %s (message %s)",
            app_name(app),
            phase,
            msg.id,
            extra={"event": "app_error"},
        )
        metrics.count_app_error(app_name(app))
        return None


def run_incoming(apps: Sequence[Any], msg: IncomingMessage) -> None:
    """Run the inbound phases over `apps` in order, recording app errors on `msg.errors`."""
    for app in apps:
        if _call(app, "filter", msg, msg.errors) is True:
            msg.filtered_by = app_name(app)
            return
    for app in apps:
        _call(app, "parse", msg, msg.errors)
    for app in apps:
        if _call(app, "handle", msg, msg.errors) is True:
            msg.handled_by = app_name(app)
            break
    if not msg.handled:
        for app in apps:
            if _call(app, "default", msg, msg.errors) is True:
                msg.handled_by = app_name(app)
                break
    for app in apps:
        _call(app, "cleanup", msg, msg.errors)


def run_outgoing(apps: Sequence[Any], msg: OutgoingMessage, errors: list[str]) -> bool:
    """Run the outgoing phase in reverse app order; return False if an app cancelled it."""
    for app in reversed(apps):
        if _call(app, "outgoing", msg, errors) is False:
            msg.cancelled_by = app_name(app)
            return False
    return True
