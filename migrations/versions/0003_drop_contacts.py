"""drop the contacts table and connections.contact_id, which nothing ever used

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 19:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import httprouter.store.schema

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_connections_contact_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_connections_contact_id_contacts"), type_="foreignkey"
        )
        batch_op.drop_column("contact_id")
    op.drop_table("contacts")


def downgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("created_at", httprouter.store.schema.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contact_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_connections_contact_id_contacts"), "contacts", ["contact_id"], ["id"]
        )
        batch_op.create_index(batch_op.f("ix_connections_contact_id"), ["contact_id"], unique=False)
