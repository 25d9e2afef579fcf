"""Real orders through the engine: lines without a SKU, non-stock lines, the payment gate, channel-side
fulfilments recorded as shipments, and the totals check kept as a warning."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sync_helpers import POLICIES, lines, on_hand, order_row, outbox, reserved, stock

from channelhub.model.money import MoneyBag
from channelhub.model.orders import (
    ChannelFulfillment,
    ChannelShipment,
    FinancialStatus,
    FulfilmentLine,
    LineKind,
    Order,
    OrderLine,
    Totals,
)
from channelhub.model.shipments import Shipment
from channelhub.store import Database
from channelhub.store.tables import SHIPMENTS
from channelhub.sync.ingest import IngestRules
from channelhub.testing.engine import apply_records, replay_held, ship
from channelhub.testing.fakes import BASE_TIME, FakeOrderSource, make_order, order_record


def with_lines(order: Order, *extra: OrderLine, **update: object) -> Order:
    return order.model_copy(update={"lines": (*order.lines, *extra), **update})


def custom(line_id: str, title: str, *, requires_stock: bool, kind: LineKind = LineKind.CUSTOM) -> OrderLine:
    return OrderLine(
        external_id=line_id, sku=None, requires_stock=requires_stock, kind=kind, title=title, quantity=1,
        unit_price=MoneyBag.of("5.00", "EUR"),
    )  # fmt: skip


def document(db: Database, external_id: str) -> Order:
    raw = order_row(db, external_id).document
    return Order.model_validate_json(raw) if isinstance(raw, str) else Order.model_validate(raw)


def test_a_non_stock_line_is_kept_unreserved_and_the_order_ships(database: Database) -> None:
    stock(database, {"A": 5})
    order = with_lines(make_order("1", [("A", 2)]), custom("1-L2", "Engraving", requires_stock=False))
    connector = FakeOrderSource()
    report = apply_records(database, connector, [order_record(order)], POLICIES, now=BASE_TIME)
    assert report.orders.confirmed == 1 and report.quarantined == 0
    row = order_row(database, "1")
    assert row.state == "confirmed"
    assert reserved(database, "A") == 2
    assert [(ln.external_id, ln.sku) for ln in lines(database, row.id)] == [("1-L1", "A")]  # stock lines only
    kept = document(database, "1").lines[1]
    assert (kept.title, kept.quantity, kept.unit_price.shop.amount, kept.requires_stock) == (
        "Engraving", 1, Decimal("5.00"), False,
    )  # fmt: skip

    result = ship(database, row.id, Shipment(carrier="DHL", tracking_number="T1", shipped_at=BASE_TIME), "cli",
                  POLICIES)  # fmt: skip
    assert result.state == "shipped"
    assert on_hand(database, "A") == 3 and reserved(database, "A") == 0
    push = outbox(database, ["fulfillment"])[0].payload
    assert push["completes_order"] is True and push["line_external_ids"] == {"A": "1-L1"}


def test_a_line_without_a_sku_holds_the_order_until_a_sku_map_entry_and_a_replay(database: Database) -> None:
    stock(database, {"A": 5, "SHIRT-P": 3})
    order = with_lines(make_order("2", [("A", 1)]), custom("2-L2", "Purple Shirt", requires_stock=True))
    connector = FakeOrderSource()
    apply_records(database, connector, [order_record(order)], POLICIES, now=BASE_TIME)
    row = order_row(database, "2")
    assert (row.state, row.hold_kind) == ("on_hold", "mapping")
    assert row.hold_reason == "line 2 'Purple Shirt' has no SKU"
    assert reserved(database, "A") == 0  # nothing is reserved while a line is unmapped

    connector.sku_map = {"title:Purple Shirt": "SHIRT-P"}
    report = replay_held(database, connector, POLICIES, now=BASE_TIME + timedelta(minutes=5))
    assert report.records == 1 and report.orders.confirmed == 1
    row = order_row(database, "2")
    assert (row.state, row.hold_kind, row.hold_reason) == ("confirmed", "", "")
    assert reserved(database, "A") == 1 and reserved(database, "SHIRT-P") == 1
    assert sorted(ln.sku for ln in lines(database, row.id)) == ["A", "SHIRT-P"]


def test_a_replay_without_the_entry_leaves_the_order_held(database: Database) -> None:
    stock(database, {"A": 5})
    order = with_lines(make_order("3", [("A", 1)]), custom("3-L2", "Purple Shirt", requires_stock=True))
    connector = FakeOrderSource()
    apply_records(database, connector, [order_record(order)], POLICIES, now=BASE_TIME)
    replay_held(database, connector, POLICIES, now=BASE_TIME + timedelta(minutes=5))
    row = order_row(database, "3")
    assert (row.state, row.hold_kind) == ("on_hold", "mapping") and reserved(database, "A") == 0


def test_unmapped_lines_no_stock_keeps_custom_lines_without_a_reservation(database: Database) -> None:
    stock(database, {"A": 5})
    order = with_lines(make_order("4", [("A", 1)]), custom("4-L2", "Purple Shirt", requires_stock=True))
    rules = IngestRules(unmapped_lines="no_stock")
    apply_records(database, FakeOrderSource(), [order_record(order)], POLICIES, rules=rules, now=BASE_TIME)
    assert order_row(database, "4").state == "confirmed" and reserved(database, "A") == 1
    assert document(database, "4").lines[1].requires_stock is False


def test_an_order_of_gift_cards_only_confirms_without_stock(database: Database) -> None:
    base = make_order("5", [("A", 1)])
    order = base.model_copy(
        update={"lines": (custom("5-L1", "Gift card", requires_stock=False, kind=LineKind.GIFT_CARD),)}
    )
    report = apply_records(database, FakeOrderSource(), [order_record(order)], POLICIES, now=BASE_TIME)
    assert report.orders.confirmed == 1 and order_row(database, "5").state == "confirmed"


def test_the_payment_gate_ships_listed_methods_before_payment(database: Database) -> None:
    stock(database, {"A": 5})
    unpaid = make_order("6", [("A", 1)], financial_status=FinancialStatus.PENDING).model_copy(
        update={"payment_method": "cod"}
    )
    apply_records(database, FakeOrderSource(), [order_record(unpaid)], POLICIES, now=BASE_TIME)
    row = order_row(database, "6")
    assert (row.state, row.hold_kind) == ("on_hold", "payment") and "cod" in row.hold_reason

    later = unpaid.model_copy(update={"updated_at": BASE_TIME + timedelta(minutes=1)})
    rules = IngestRules(ship_before_payment=frozenset({"cod"}))
    apply_records(database, FakeOrderSource(), [order_record(later)], POLICIES, rules=rules, now=BASE_TIME)
    assert order_row(database, "6").state == "confirmed" and reserved(database, "A") == 1

    other = make_order("7", [("A", 1)], financial_status=FinancialStatus.PENDING).model_copy(
        update={"payment_method": "bacs"}
    )
    apply_records(database, FakeOrderSource(), [order_record(other)], POLICIES, rules=rules, now=BASE_TIME)
    assert order_row(database, "7").state == "on_hold"  # only the listed methods pass the gate


def fulfilment(fid: str, tracking: str, *items: tuple[str, int]) -> ChannelShipment:
    return ChannelShipment(
        external_id=fid, shipped_at=BASE_TIME, carrier="UPS", tracking_numbers=(tracking,),
        tracking_urls=(f"https://track.example/{tracking}",),
        lines=tuple(FulfilmentLine(line_id=line, quantity=q) for line, q in items),
    )  # fmt: skip


def test_channel_fulfilments_become_shipments_of_exactly_those_units_never_pushed_back(database: Database) -> None:
    stock(database, {"A": 10, "B": 10})
    first = make_order("8", [("A", 2), ("B", 1)], fulfillment=ChannelFulfillment.PARTIALLY_FULFILLED).model_copy(
        update={"fulfillments": (fulfilment("F1", "1Z1", ("8-L1", 1)),)}
    )
    connector = FakeOrderSource()
    apply_records(database, connector, [order_record(first)], POLICIES, now=BASE_TIME)
    row = order_row(database, "8")
    assert row.state == "partially_shipped"
    assert on_hand(database, "A") == 9 and reserved(database, "A") == 1 and reserved(database, "B") == 1

    second = first.model_copy(
        update={
            "updated_at": BASE_TIME + timedelta(hours=1),
            "fulfillment": ChannelFulfillment.FULFILLED,
            "fulfillments": (*first.fulfillments, fulfilment("F2", "1Z2", ("8-L1", 1), ("8-L2", 1))),
        }
    )
    apply_records(database, connector, [order_record(second)], POLICIES, now=BASE_TIME)
    assert order_row(database, "8").state == "shipped"
    assert on_hand(database, "A") == 8 and on_hand(database, "B") == 9  # F1 was not committed twice
    assert reserved(database, "A") == reserved(database, "B") == 0
    with database.transaction() as session:
        recorded = session.execute(
            select(SHIPMENTS.c.external_id, SHIPMENTS.c.carrier, SHIPMENTS.c.tracking_number, SHIPMENTS.c.tracking)
            .where(SHIPMENTS.c.order_id == row.id)
            .order_by(SHIPMENTS.c.id)
        ).all()
    assert [(r.external_id, r.carrier, r.tracking_number) for r in recorded] == [("F1", "UPS", "1Z1"),
                                                                                  ("F2", "UPS", "1Z2")]  # fmt: skip
    assert recorded[0].tracking == [{"number": "1Z1", "url": "https://track.example/1Z1"}]
    assert outbox(database, ["fulfillment"]) == []  # the channel's own fulfilments are never pushed back to it


def test_the_hubs_own_shipment_reported_back_by_the_channel_is_not_recorded_twice(database: Database) -> None:
    stock(database, {"A": 10})
    order = make_order("9", [("A", 2)])
    connector = FakeOrderSource()
    apply_records(database, connector, [order_record(order)], POLICIES, now=BASE_TIME)
    shipment = Shipment(carrier="DHL", tracking_number="JD1", shipped_at=BASE_TIME)
    ship(database, ("shop", "9"), shipment, "cli", POLICIES)
    assert on_hand(database, "A") == 8
    echoed = order.model_copy(
        update={
            "updated_at": BASE_TIME + timedelta(hours=1),
            "fulfillment": ChannelFulfillment.FULFILLED,
            "fulfillments": (fulfilment("555", "JD1", ("9-L1", 2)),),
        }
    )
    apply_records(database, connector, [order_record(echoed)], POLICIES, now=BASE_TIME)
    assert on_hand(database, "A") == 8  # the push came back as the channel's fulfilment: nothing more left
    with database.transaction() as session:
        assert session.scalar(select(SHIPMENTS.c.id).where(SHIPMENTS.c.external_id == "555")) is None


def test_totals_that_do_not_add_up_are_kept_as_a_warning(database: Database) -> None:
    stock(database, {"A": 5})
    good = make_order("10", [("A", 1)]).model_copy(
        update={"totals": Totals(subtotal=MoneyBag.of("10.00", "EUR"), total=MoneyBag.of("10.00", "EUR"))}
    )
    bad = make_order("11", [("A", 1)]).model_copy(
        update={"totals": Totals(subtotal=MoneyBag.of("10.00", "EUR"), total=MoneyBag.of("12.50", "EUR"))}
    )
    apply_records(database, FakeOrderSource(), [order_record(good), order_record(bad)], POLICIES, now=BASE_TIME)
    assert document(database, "10").warnings == ()
    (warning,) = document(database, "11").warnings
    assert "subtotal 10.00 = 10.00 EUR" in warning and "12.50 EUR" in warning and "2.50" in warning
    assert order_row(database, "11").state == "confirmed"  # a warning, never a refusal
