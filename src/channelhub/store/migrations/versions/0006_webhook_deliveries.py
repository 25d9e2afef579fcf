"""webhook_deliveries: a webhook's raw body stored before it is answered, applied after

The receiver checks the signature, stores the delivery in its own transaction and answers at once; mapping and
applying run after, through the same path as polling. A daemon killed right after answering loses nothing: the
delivery is still `received` and is applied on restart.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from channelhub.store.tables import UtcDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("delivery_id", sa.String(length=200), nullable=True),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_encoding", sa.String(length=10), nullable=False),
        sa.Column("body_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("applied_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("channel", "delivery_id", name="uq_webhook_deliveries_channel_delivery"),
        sa.UniqueConstraint("channel", "body_hash", name="uq_webhook_deliveries_channel_body_hash"),
    )
    op.create_index("ix_webhook_deliveries_status", "webhook_deliveries", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_status", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
