"""The hub's tables (SQLAlchemy 2.0 declarative, typed with Mapped). Alembic migrations create them.

Times are stored timezone-aware (UTC); SQLite keeps them as ISO text through `UtcDateTime`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that refuses naive datetimes going in and is always aware UTC coming out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; the hub keeps aware UTC times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite drops the offset; we only ever store UTC
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class SerializedJSON(TypeDecorator[str]):
    """A JSON column bound from text that is already JSON (pydantic's `model_dump_json`, six times faster than
    `model_dump` + `json.dumps`). Reads come back through the column's own JSON type."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> Callable[[Any], Any] | None:
        if dialect.name == "postgresql":
            from psycopg.types.json import Json

            return lambda value: None if value is None else Json(value, dumps=_as_is)
        return None  # SQLite keeps JSON as text


def _as_is(value: Any) -> Any:
    return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# --- orders -------------------------------------------------------------------------------------------------


# An order's key: one row per (channel, external id). Named, so a refusal by it can be told from others.
ORDER_KEY_CONSTRAINT = "uq_orders_channel_external_id"


class OrderRow(Base):
    """One canonical order. `document` is the canonical Order as JSON; the columns are what we query by."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name=ORDER_KEY_CONSTRAINT),
        Index("ix_orders_state_hold_kind", "state", "hold_kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    number: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(30), index=True)
    hold_reason: Mapped[str] = mapped_column(Text, default="")
    # Why the order waits, as a category the engine acts on: "" | channel | payment | stock (0002).
    hold_kind: Mapped[str] = mapped_column(String(20), default="", server_default="")
    financial_status: Mapped[str] = mapped_column(String(30))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[str] = mapped_column(String(40))  # Decimal as text: exact on every backend
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel_updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "external_id", name="uq_order_lines_order_external"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    sku: Mapped[str] = mapped_column(String(200), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)


class OrderEventRow(Base):
    """A lifecycle transition: the source of the key figures (time to ship, delivery and return rates)."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    from_state: Mapped[str | None] = mapped_column(String(30), nullable=True)
    to_state: Mapped[str] = mapped_column(String(30))
    source: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")


class ShipmentRow(Base):
    """A shipment of an order, unique per order by `shipment_key`: the id its channel gave it, else its tracking
    number (0005). `tracking` holds every tracking number and link, `[{"number", "url"}]`."""

    __tablename__ = "shipments"
    __table_args__ = (UniqueConstraint("order_id", "shipment_key", name="uq_shipments_order_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    carrier: Mapped[str] = mapped_column(String(100))
    service: Mapped[str] = mapped_column(String(100), default="")
    tracking_number: Mapped[str] = mapped_column(String(200))
    tracking_url: Mapped[str] = mapped_column(Text, default="")
    shipped_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(200), default="")
    external_id: Mapped[str] = mapped_column(String(200), default="", server_default="")
    shipment_key: Mapped[str] = mapped_column(String(200))
    tracking: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


# --- inbox, cursors, files ----------------------------------------------------------------------------------


class InboxRow(Base):
    """Every raw payload, stored once, with what became of it. status: applied | quarantined."""

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "delivery_id", name="uq_inbox_channel_delivery"),
        # A record read again (a re-read after a crash, an unchanged order re-polled) is not stored again (0004).
        UniqueConstraint("channel", "body_hash", name="uq_inbox_channel_body_hash"),
        Index("ix_inbox_channel_status", "channel", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    stream: Mapped[str] = mapped_column(String(50))
    source: Mapped[str] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    delivery_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sha256 of stream and body
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class WebhookDeliveryRow(Base):
    """A webhook delivery as received, stored before it is answered (0006): the raw body (UTF-8 text, or base64
    when it is not valid UTF-8 or holds a NUL), the headers its connector needs to parse it, and what became of
    it. status: received (answered, not yet applied) | applied | quarantined. Unique per channel by delivery id
    and by the sha256 of the body, so a redelivery is recognised and stored once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("channel", "delivery_id", name="uq_webhook_deliveries_channel_delivery"),
        UniqueConstraint("channel", "body_hash", name="uq_webhook_deliveries_channel_body_hash"),
        Index("ix_webhook_deliveries_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    delivery_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    topic: Mapped[str] = mapped_column(String(100), default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[str] = mapped_column(Text)
    body_encoding: Mapped[str] = mapped_column(String(10), default="utf-8")  # utf-8 | base64
    body_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class CursorRow(Base):
    __tablename__ = "cursors"

    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    stream: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ImportedFileRow(Base):
    """A whole page (file) already imported, by content hash: a re-dropped identical file is recognised."""

    __tablename__ = "imported_files"
    __table_args__ = (UniqueConstraint("channel", "content_hash", name="uq_imported_files_channel_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


# --- stock --------------------------------------------------------------------------------------------------


class SkuRow(Base):
    __tablename__ = "skus"

    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    safety_stock: Mapped[int] = mapped_column(Integer, default=0)
    # Master data for customs (0007), all optional: None until `channelhub sku import` sets it.
    hs_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    origin_country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # ISO 3166-1 alpha-2
    customs_description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    declared_value: Mapped[str | None] = mapped_column(String(40), nullable=True)  # Decimal as text, per unit
    declared_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)  # ISO 4217
    weight_grams: Mapped[int | None] = mapped_column(Integer, nullable=True)  # per unit


class LocationRow(Base):
    __tablename__ = "locations"

    code: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower reserves first


class StockLevelRow(Base):
    """On-hand and reserved units of one SKU at one location. The CHECKs are the last line against oversell."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("on_hand >= reserved", name="available_not_negative"),
    )

    sku: Mapped[str] = mapped_column(ForeignKey("skus.sku"), primary_key=True)
    location: Mapped[str] = mapped_column(ForeignKey("locations.code"), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)


class ReservationRow(Base):
    """Units held for one order line at one location. state: reserved | committed | released."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StockMovementRow(Base):
    """Every change to on_hand or reserved, with its reason: the ledger's audit trail."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_sku_location", "sku", "location"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))  # set | adjust | reserve | release | commit | restock
    delta_on_hand: Mapped[int] = mapped_column(Integer, default=0)
    delta_reserved: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(Text, default="")
    order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ChannelListingRow(Base):
    """A SKU a channel lists, and the quantity the channel last confirmed (so equal values are not re-sent)."""

    __tablename__ = "channel_listings"

    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    sku: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_confirmed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


# --- outbox -------------------------------------------------------------------------------------------------


class OutboxRow(Base):
    """One outbound write, enqueued in the same transaction as the change that caused it.

    kind: stock | fulfillment | refund | notification. `subject` is what rows coalesce on (the SKU for stock).
    status: pending | inflight | done | dead | superseded | skipped. `batch_key` groups the rows sent in one
    call, fixed before the call so a retry after a crash re-sends exactly the same batch.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
        Index("ix_outbox_due", "status", "channel", "due_at"),
        Index("ix_outbox_batch", "batch_key"),
        # Publish and the dispatcher look up the newest pending or in-flight write of a SKU for a channel.
        Index("ix_outbox_subject", "channel", "subject", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    batch_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ChannelStateRow(Base):
    """Per-channel health: last pull, last error, and whether the channel is stopped by a Fatal error."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_pull_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_pull_ok_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    stopped_reason: Mapped[str] = mapped_column(Text, default="")


# --- Core table handles ---------------------------------------------------------------------------------------
# The engine writes with Core statements (conditional UPDATEs, bulk inserts), so the ORM identity map never
# second-guesses a guarded UPDATE. One handle per table, shared by every package.

ORDERS = cast(Table, OrderRow.__table__)
LINES = cast(Table, OrderLineRow.__table__)
EVENTS = cast(Table, OrderEventRow.__table__)
SHIPMENTS = cast(Table, ShipmentRow.__table__)
INBOX = cast(Table, InboxRow.__table__)
CURSORS = cast(Table, CursorRow.__table__)
FILES = cast(Table, ImportedFileRow.__table__)
SKUS = cast(Table, SkuRow.__table__)
LOCATIONS = cast(Table, LocationRow.__table__)
LEVELS = cast(Table, StockLevelRow.__table__)
RESERVATIONS = cast(Table, ReservationRow.__table__)
MOVEMENTS = cast(Table, StockMovementRow.__table__)
LISTINGS = cast(Table, ChannelListingRow.__table__)
OUTBOX = cast(Table, OutboxRow.__table__)
STATE = cast(Table, ChannelStateRow.__table__)
DELIVERIES = cast(Table, WebhookDeliveryRow.__table__)
