"""shipments: identified by the id their channel gave them, else the tracking number; several tracking numbers

A fulfilment a channel reports may carry no tracking number (a gift card, a local delivery) or several (a split
parcel). A shipment is now unique per order by `shipment_key` (the channel's id, else the tracking number, which
is what every shipment before this revision was keyed by), and keeps all its tracking numbers and links.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=False, server_default=""))
        batch.add_column(sa.Column("shipment_key", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("tracking", sa.JSON(), nullable=True))
    op.execute("UPDATE shipments SET shipment_key = tracking_number")
    with op.batch_alter_table("shipments") as batch:
        batch.alter_column("shipment_key", existing_type=sa.String(length=200), nullable=False)
        batch.drop_constraint("uq_shipments_order_tracking", type_="unique")
        batch.create_unique_constraint("uq_shipments_order_key", ["order_id", "shipment_key"])


def downgrade() -> None:
    with op.batch_alter_table("shipments") as batch:
        batch.drop_constraint("uq_shipments_order_key", type_="unique")
        batch.create_unique_constraint("uq_shipments_order_tracking", ["order_id", "tracking_number"])
        batch.drop_column("tracking")
        batch.drop_column("shipment_key")
        batch.drop_column("external_id")
