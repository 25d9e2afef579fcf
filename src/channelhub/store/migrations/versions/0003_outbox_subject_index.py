"""outbox: index (channel, subject, status) for per-SKU lookups

Publish reads the newest pending stock write of each SKU on every page, and the dispatcher asks which SKUs have a
write in flight; without this index both scan the whole outbox, which grows with every change.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_outbox_subject", "outbox", ["channel", "subject", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_subject", table_name="outbox")
