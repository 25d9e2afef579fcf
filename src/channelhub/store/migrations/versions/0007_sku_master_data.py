"""skus: master data for international orders (HS code, origin, customs description, declared value, weight)

Every column is nullable: a SKU created by an order or a stock count has no customs data until `channelhub sku
import` gives it some, and an international order naming such a SKU is held with a reason that says which field
is missing. The declared value is Decimal as text, like `orders.total`: exact on every backend.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

COLUMNS = (
    ("hs_code", sa.String(length=10)),
    ("origin_country", sa.String(length=2)),
    ("customs_description", sa.String(length=200)),
    ("declared_value", sa.String(length=40)),
    ("declared_currency", sa.String(length=3)),
    ("weight_grams", sa.Integer()),
)


def upgrade() -> None:
    # batch mode: SQLite cannot drop a column in place on downgrade; on PostgreSQL batch mode is plain ALTERs.
    with op.batch_alter_table("skus") as batch:
        for name, type_ in COLUMNS:
            batch.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("skus") as batch:
        for name, _type in reversed(COLUMNS):
            batch.drop_column(name)
