"""The objects apps see: connections, the incoming and outgoing messages of one request, and a
message as stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .statuses import STATUS_NAMES


def iso(value: datetime | None) -> str | None:
    """Format a timestamp as ISO 8601 with its UTC offset."""
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class StoredMessage:
    """A message as it is stored (the legacy router's `db_message`): what the log, the API and
    the console show of it."""

    id: int
    direction: str
    status: str
    text: str
    backend: str
    contact: str
    created_at: datetime
    updated_at: datetime | None = None
    in_response_to: int | None = None
    external_id: str | None = None
    priority: int = 0
    attempts: int = 0
    error: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None

    @property
    def status_name(self) -> str:
        """The status's full name."""
        return STATUS_NAMES.get(self.status, self.status)

    def to_json(self) -> dict[str, Any]:
        """The message as JSON: the seven legacy keys first, then the added ones."""
        return {
            "id": self.id,
            "contact": self.contact,
            "backend": self.backend,
            "direction": self.direction,
            "status": self.status,
            "text": self.text,
            "date": iso(self.created_at),
            "status_name": self.status_name,
            "in_response_to": self.in_response_to,
            "external_id": self.external_id,
            "priority": self.priority,
            "attempts": self.attempts,
            "error": self.error,
            "updated": iso(self.updated_at),
            "sent": iso(self.sent_at),
            "delivered": iso(self.delivered_at),
        }


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
    stored: StoredMessage | None = None  # the row, once stored

    @property
    def peer(self) -> str:
        """The recipient's identity."""
        return self.connection.identity

    @property
    def db_message(self) -> StoredMessage | None:
        """The stored row (id, status, dates), as rapidsms-httprouter gave its apps."""
        return self.stored


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
    stored: StoredMessage | None = None  # the row, stored before the apps run

    @property
    def db_message(self) -> StoredMessage | None:
        """The stored row (id, status, dates), as rapidsms-httprouter gave its apps."""
        return self.stored

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
