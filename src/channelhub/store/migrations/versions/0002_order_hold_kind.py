"""orders.hold_kind: the category of an order's hold (channel, payment, stock), so stock arrivals release only
the orders that wait for stock.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_kind", sa.String(length=20), nullable=False, server_default=""))
        batch_op.create_index("ix_orders_state_hold_kind", ["state", "hold_kind"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_state_hold_kind")
        batch_op.drop_column("hold_kind")
