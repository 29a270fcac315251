"""indexes for the message log: messages by status and by backend, connections by identity

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 04:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_messages_status_id"), "messages", ["status", "id"])
    op.create_index(op.f("ix_messages_backend_id_id"), "messages", ["backend_id", "id"])
    op.create_index(op.f("ix_connections_identity"), "connections", ["identity"])


def downgrade() -> None:
    op.drop_index(op.f("ix_connections_identity"), table_name="connections")
    op.drop_index(op.f("ix_messages_backend_id_id"), table_name="messages")
    op.drop_index(op.f("ix_messages_status_id"), table_name="messages")
