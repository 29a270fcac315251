"""backend_seen: when each backend's gateway (a phone) last called, for "is the phone alive?"

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import httprouter.store.schema

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backend_seen",
        sa.Column("backend", sa.String(length=100), nullable=False),
        sa.Column(
            "last_seen_at", httprouter.store.schema.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("backend", name=op.f("pk_backend_seen")),
    )


def downgrade() -> None:
    op.drop_table("backend_seen")
