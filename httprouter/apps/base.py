"""The handler plugin base class and the phase runner."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..domain.messages import IncomingMessage, OutgoingMessage
from ..store import metrics

if TYPE_CHECKING:
    from ..router import Router

log = logging.getLogger(__name__)

INCOMING_PHASES = ("filter", "parse", "handle", "default", "cleanup")


class AppBase:
    """Base class of handler plugins ("apps"), run inside each inbound request.

    List apps in `SMS_APPS` by dotted class path (or as ``{"ENGINE": path, **options}``; the
    options are passed to `configure`). Define any of these hooks; each gets the message:

    - ``filter(msg)``: return True to drop the message; no later phase or app runs.
    - ``parse(msg)``: annotate the message (``msg.fields``) for later apps.
    - ``handle(msg)``: act on it; return True to stop later apps' ``handle``.
    - ``default(msg)``: runs only when no app handled the message (no True from ``handle``
      and no response yet); the first True stops the phase.
    - ``cleanup(msg)``: runs for every app once the message got past ``filter``, handled or not.
    - ``outgoing(msg)``: every outbound message, apps in reverse order; return False to cancel it
      (status C). Changes to ``msg.text`` are kept.

    Reply with ``msg.respond(text)``. An exception in a hook is logged and recorded on the
    message; the other apps still run and the gateway still gets its 200.

    Example::

        class PingApp(AppBase):
            def configure(self, reply: str = "pong") -> None:
                self.reply = reply

            def handle(self, msg: IncomingMessage) -> bool:
                if msg.text.strip().lower() == "ping":
                    msg.respond(self.reply)
                    return True
                return False
    """

    def __init__(self, router: Router | None = None, **options: Any) -> None:
        self.router = router
        self.configure(**options)

    @property
    def name(self) -> str:
        """The app's name in logs and message history."""
        return type(self).__name__

    def configure(self, **options: Any) -> None:
        """Take the app's options from SMS_APPS; override with named keyword arguments."""
        if options:
            raise TypeError(f"{self.name} takes no options, got {sorted(options)}")

    def start(self) -> None:
        """Run once when the service starts."""

    def filter(self, msg: IncomingMessage) -> bool | None:
        return None

    def parse(self, msg: IncomingMessage) -> None:
        return None

    def handle(self, msg: IncomingMessage) -> bool | None:
        return None

    def default(self, msg: IncomingMessage) -> bool | None:
        return None

    def cleanup(self, msg: IncomingMessage) -> None:
        return None

    def outgoing(self, msg: OutgoingMessage) -> bool | None:
        return None


def _call(app: AppBase, phase: str, msg: Any, errors: list[str]) -> Any:
    try:
        return getattr(app, phase)(msg)
    except Exception as exc:
        errors.append(f"{app.name}.{phase}: {type(exc).__name__}: {exc}")
        log.exception(
            "app %s raised in %s (message %s)",
            app.name,
            phase,
            msg.id,
            extra={"event": "app_error"},
        )
        metrics.count_app_error(app.name)
        return None


def run_incoming(apps: Sequence[AppBase], msg: IncomingMessage) -> None:
    """Run the inbound phases over `apps` in order, recording app errors on `msg.errors`."""
    for app in apps:
        if _call(app, "filter", msg, msg.errors) is True:
            msg.filtered_by = app.name
            return
    for app in apps:
        _call(app, "parse", msg, msg.errors)
    for app in apps:
        if _call(app, "handle", msg, msg.errors) is True:
            msg.handled_by = app.name
            break
    if not msg.handled:
        for app in apps:
            if _call(app, "default", msg, msg.errors) is True:
                msg.handled_by = app.name
                break
    for app in apps:
        _call(app, "cleanup", msg, msg.errors)


def run_outgoing(apps: Sequence[AppBase], msg: OutgoingMessage, errors: list[str]) -> bool:
    """Run the outgoing phase in reverse app order; return False if an app cancelled it."""
    for app in reversed(apps):
        if _call(app, "outgoing", msg, errors) is False:
            msg.cancelled_by = app.name
            return False
    return True
