"""The objects apps see: connections and the incoming and outgoing messages of one request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Connection:
    """An identity on a backend: who a message came from or goes to."""

    backend: str
    identity: str
    id: int | None = None


@dataclass
class OutgoingMessage:
    """A message to send: a reply created by `IncomingMessage.respond`, or one from `send()`."""

    text: str
    connection: Connection
    in_response_to: IncomingMessage | None = None
    priority: int = 0
    fields: dict[str, Any] = field(default_factory=dict)
    id: int | None = None
    status: str | None = None
    cancelled_by: str | None = None

    @property
    def peer(self) -> str:
        """The recipient's identity."""
        return self.connection.identity


@dataclass
class IncomingMessage:
    """A received message on its way through the apps' phases."""

    text: str
    connection: Connection
    id: int | None = None
    external_id: str | None = None
    received_at: datetime | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    responses: list[OutgoingMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    handled_by: str | None = None
    filtered_by: str | None = None

    @property
    def peer(self) -> str:
        """The sender's identity."""
        return self.connection.identity

    @property
    def handled(self) -> bool:
        """True once an app's `handle` returned True or any app responded."""
        return self.handled_by is not None or bool(self.responses)

    def respond(self, text: str, **fields: Any) -> OutgoingMessage:
        """Queue a reply to the sender; it is stored after the inbound phases, linked to this one.

        The text is stored exactly as given: it is not %-formatted or translated.
        """
        priority = int(fields.pop("priority", 0))
        reply = OutgoingMessage(
            text=str(text),
            connection=self.connection,
            in_response_to=self,
            priority=priority,
            fields=fields,
        )
        self.responses.append(reply)
        return reply
