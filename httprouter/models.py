"""The tables. Messages are the queue: a message row's status and times say where it is.

Status letters are the legacy ones (clients compare them); `STATUS_NAMES` gives the full names.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .clock import now

INCOMING = "I"
OUTGOING = "O"

RECEIVED = "R"
HANDLED = "H"
PROCESSING = "P"
QUEUED = "Q"
SENT = "S"
DELIVERED = "D"
CANCELLED = "C"
ERRORED = "E"
FAILED = "F"

STATUS_NAMES = {
    RECEIVED: "received",
    HANDLED: "handled",
    PROCESSING: "processing",
    QUEUED: "queued",
    SENT: "sent",
    DELIVERED: "delivered",
    CANCELLED: "cancelled",
    ERRORED: "errored",
    FAILED: "failed",
}
STATUS_LETTERS = {name: letter for letter, name in STATUS_NAMES.items()}

# How far along each status is: a report may move a message to a higher rank, never lower.
# E sits with Q (both are waiting to be sent); S < D; C and F are final.
STATUS_RANK = {
    RECEIVED: 0,
    HANDLED: 1,
    PROCESSING: 0,
    QUEUED: 1,
    ERRORED: 1,
    SENT: 2,
    DELIVERED: 3,
    CANCELLED: 4,
    FAILED: 4,
}
FINAL_STATUSES = frozenset({HANDLED, DELIVERED, CANCELLED, FAILED})

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# 64-bit ids on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back as an aware UTC datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = metadata


class Backend(Base):
    """A gateway link by name (a Kannel smsc-id, a relayer, an API account)."""

    __tablename__ = "backends"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Contact(Base):
    """A person, who may be reached through several connections."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Connection(Base):
    """An identity (phone number, sender id) on one backend."""

    __tablename__ = "connections"
    __table_args__ = (
        UniqueConstraint("backend_id", "identity"),
        # The log's contact filter names an identity, whatever its backend.
        Index(None, "identity"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id"))
    identity: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)


class Message(Base):
    """One SMS, inbound or outbound. Its status row is also its place in the queue."""

    __tablename__ = "messages"
    __table_args__ = (
        # The outbox and the dispatcher look for work by status and backend, oldest first.
        Index(None, "status", "backend_id", "id"),
        Index(None, "status", "next_attempt_at"),
        # Log pages: newest first within a direction, a status, a backend; a contact's thread.
        Index(None, "direction", "id"),
        Index(None, "status", "id"),
        Index(None, "backend_id", "id"),
        Index(None, "connection_id", "id"),
        Index(None, "in_response_to_id"),
        # A gateway's id for a message (DLR matching) and inbound de-duplication.
        Index(None, "backend_id", "external_id"),
        Index(
            "uq_messages_inbound_external_id",
            "backend_id",
            "external_id",
            unique=True,
            sqlite_where=text("direction = 'I' AND external_id IS NOT NULL"),
            postgresql_where=text("direction = 'I' AND external_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    direction: Mapped[str] = mapped_column(String(1))
    status: Mapped[str] = mapped_column(String(1))
    text: Mapped[str] = mapped_column(Text)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id"))
    in_response_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    external_id: Mapped[str | None] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a dispatcher may next try to push it (push backends only).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who holds it and until when: an outbox poller's lease or a dispatcher's claim.
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatusChange(Base):
    """One entry of a message's history: a status change, or a report that changed nothing."""

    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    old_status: Mapped[str | None] = mapped_column(String(1))
    new_status: Mapped[str] = mapped_column(String(1))
    cause: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class DeliveryAttempt(Base):
    """One push of an outbound message to its gateway, with the answer."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    request: Mapped[str | None] = mapped_column(Text)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(10))


class SendSlot(Base):
    """The earliest time the next push to a rate-limited backend may start (shared by workers)."""

    __tablename__ = "send_slots"

    backend: Mapped[str] = mapped_column(String(100), primary_key=True)
    next_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsoleUser(Base):
    """A person allowed into the web console."""

    __tablename__ = "console_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RouterMeta(Base):
    """Small values the service keeps for itself (a generated signing key)."""

    __tablename__ = "router_meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# The tables themselves, for Core statements on the hot paths.
backends = cast(Table, Backend.__table__)
connections = cast(Table, Connection.__table__)
messages = cast(Table, Message.__table__)
status_changes = cast(Table, StatusChange.__table__)
delivery_attempts = cast(Table, DeliveryAttempt.__table__)
send_slots = cast(Table, SendSlot.__table__)
console_users = cast(Table, ConsoleUser.__table__)
router_meta = cast(Table, RouterMeta.__table__)
