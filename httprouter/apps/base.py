"""The handler plugin base class, and the little of the router an app may use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ..domain.messages import Connection, IncomingMessage, OutgoingMessage


class RouterAPI(Protocol):
    """What an app may ask of the router it runs in (as RapidSMS's apps do)."""

    @property
    def apps(self) -> Sequence[Any]:
        """The apps of this router, in SMS_APPS order."""
        ...

    def send(self, text: str, connections: Iterable[Connection | tuple[str, str]]) -> Any:
        """Send `text` to each connection; return the outgoing messages."""
        ...

    def lookup_connections(self, backend: str, identities: Iterable[str]) -> list[Connection]:
        """The connections for `identities` on `backend`, created when new."""
        ...


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

    def __init__(self, router: RouterAPI | None = None, **options: Any) -> None:
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
