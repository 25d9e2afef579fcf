"""Helpers (imported by name, the folder is on sys.path) for the sync engine's tests: stock setup and small queries."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.store.tables import InboxRow, OrderEventRow, OrderLineRow, OrderRow, OutboxRow, StockLevelRow

POLICIES = (ChannelStockPolicy(channel="shop"),)


def stock(db: Database, levels: dict[str, int], location: str = "WH1") -> None:
    with db.transaction() as session:
        ledger.ensure_location(session, location)
        for sku, quantity in levels.items():
            ledger.ensure_sku(session, sku)
            ledger.set_on_hand(session, sku, location, quantity, "test stock")


def order_row(db: Database, external_id: str, channel: str = "shop") -> OrderRow:
    with db.transaction() as session:
        row = session.scalar(select(OrderRow).where(OrderRow.channel == channel, OrderRow.external_id == external_id))
        assert row is not None, f"no order {channel}/{external_id}"
        session.expunge(row)
        return row


def events(db: Database, order_id: int) -> list[tuple[str | None, str]]:
    with db.transaction() as session:
        rows = session.execute(
            select(OrderEventRow.from_state, OrderEventRow.to_state)
            .where(OrderEventRow.order_id == order_id)
            .order_by(OrderEventRow.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def count(db: Database, table: type, *where: object) -> int:
    from sqlalchemy import func

    with db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)


def reserved(db: Database, sku: str) -> int:
    with db.transaction() as session:
        return int(sum(session.scalars(select(StockLevelRow.reserved).where(StockLevelRow.sku == sku))))


def on_hand(db: Database, sku: str) -> int:
    with db.transaction() as session:
        return int(sum(session.scalars(select(StockLevelRow.on_hand).where(StockLevelRow.sku == sku))))


def inbox(db: Database) -> list[InboxRow]:
    with db.transaction() as session:
        rows = list(session.scalars(select(InboxRow).order_by(InboxRow.id)))
        session.expunge_all()
        return rows


def outbox(db: Database, kinds: Iterable[str] | None = None) -> list[OutboxRow]:
    with db.transaction() as session:
        stmt = select(OutboxRow).order_by(OutboxRow.id)
        if kinds is not None:
            stmt = stmt.where(OutboxRow.kind.in_(list(kinds)))
        rows = list(session.scalars(stmt))
        session.expunge_all()
        return rows


def lines(db: Database, order_id: int) -> list[OrderLineRow]:
    with db.transaction() as session:
        rows = list(session.scalars(select(OrderLineRow).where(OrderLineRow.order_id == order_id)))
        session.expunge_all()
        return rows
