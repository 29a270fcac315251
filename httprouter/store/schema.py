"""The tables. Messages are the queue: a message row's status and times say where it is.

The status letters and their rules are the domain's (domain/statuses.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

from ..clock import now

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


def _created_at() -> Column[datetime]:
    return Column("created_at", UTCDateTime, nullable=False, default=now)


# A gateway link by name (an operator link, a phone, an API account), as BACKENDS names it.
backends = Table(
    "backends",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    _created_at(),
)

# An identity (phone number, sender id) on one backend.
connections = Table(
    "connections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("backend_id", ForeignKey("backends.id"), nullable=False),
    Column("identity", String(200), nullable=False),
    _created_at(),
    UniqueConstraint("backend_id", "identity"),
    # The log's contact filter names an identity, whatever its backend.
    Index(None, "identity"),
)

# One SMS, inbound or outbound. Its status row is also its place in the queue.
messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("direction", String(1), nullable=False),
    Column("status", String(1), nullable=False),
    Column("text", Text, nullable=False),
    Column("connection_id", ForeignKey("connections.id"), nullable=False),
    Column("backend_id", ForeignKey("backends.id"), nullable=False),
    Column("in_response_to_id", ForeignKey("messages.id")),
    Column("external_id", String(255)),
    Column("priority", Integer, nullable=False, default=0, server_default="0"),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("error", Text),
    Column("fields", JSON),
    _created_at(),
    Column("updated_at", UTCDateTime, nullable=False, default=now),
    Column("sent_at", UTCDateTime),
    Column("delivered_at", UTCDateTime),
    # When a dispatcher may next try to push it (push backends only).
    Column("next_attempt_at", UTCDateTime),
    # Who holds it and until when: an outbox poller's lease or a dispatcher's claim.
    Column("lease_owner", String(100)),
    Column("lease_expires_at", UTCDateTime),
    # The outbox and the dispatcher look for work by status and backend, oldest first.
    Index(None, "status", "backend_id", "id"),
    Index(None, "status", "next_attempt_at"),
    # Log pages: newest first within a direction, a status, a backend; a contact's thread.
    Index(None, "direction", "id"),
    Index(None, "status", "id"),
    Index(None, "backend_id", "id"),
    Index(None, "connection_id", "id"),
    Index(None, "in_response_to_id"),
    # A gateway's id for a message (matching its reports) and inbound de-duplication.
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

# One entry of a message's history: a status change, or a report that changed nothing.
status_changes = Table(
    "status_changes",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("message_id", ForeignKey("messages.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False, default=now),
    Column("old_status", String(1)),
    Column("new_status", String(1), nullable=False),
    Column("cause", String(50), nullable=False),
    Column("detail", JSON),
)

# One push of an outbound message to its gateway, with the answer.
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("message_id", ForeignKey("messages.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("worker", String(100)),
    Column("started_at", UTCDateTime, nullable=False, default=now),
    Column("finished_at", UTCDateTime),
    Column("request", Text),
    Column("response_status", Integer),
    Column("response_body", Text),
    Column("error", Text),
    Column("outcome", String(10), nullable=False),
)

# The earliest time the next push to a rate-limited backend may start (shared by workers).
send_slots = Table(
    "send_slots",
    metadata,
    Column("backend", String(100), primary_key=True),
    Column("next_at", UTCDateTime, nullable=False),
)

# A person allowed into the web console.
console_users = Table(
    "console_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    _created_at(),
    Column("last_login_at", UTCDateTime),
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", UTCDateTime),
)

# Small values the service keeps for itself (a generated signing key).
router_meta = Table(
    "router_meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# A gateway's own report of trouble (a phone's low battery, its errors), shown to operators.
alerts = Table(
    "alerts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("backend", String(100)),  # the backend it names, as it names it (may be unknown)
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    _created_at(),
)

# When each backend's gateway last called one of its URLs (a phone polling, posting a webhook):
# by name, as BACKENDS names it, so a phone that polls before any message is seen too.
backend_seen = Table(
    "backend_seen",
    metadata,
    Column("backend", String(100), primary_key=True),
    Column("last_seen_at", UTCDateTime, nullable=False),
)


def schema_revision(conn: Connection) -> str | None:
    """Return the migration revision the tables are at (None: never migrated), without alembic."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
