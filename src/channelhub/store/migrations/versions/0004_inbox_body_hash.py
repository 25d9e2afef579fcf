"""inbox: body_hash, unique per channel, so a record read again is not stored again

After a crash in the middle of a large file its committed pages were stored again on every restart (50,000
inbox rows for 20,000 orders); an overlap re-poll stored every unchanged order again. A record is now
recognised by the sha256 of its stream and body.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_inbox_channel_body_hash", ["channel", "body_hash"])


def downgrade() -> None:
    with op.batch_alter_table("inbox") as batch:
        batch.drop_constraint("uq_inbox_channel_body_hash", type_="unique")
        batch.drop_column("body_hash")
