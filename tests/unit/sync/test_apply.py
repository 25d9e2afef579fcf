"""Apply: lifecycle moves from channel updates, holds and their release, monotonic states."""

from __future__ import annotations

from datetime import timedelta

from sync_helpers import POLICIES, events, on_hand, order_row, outbox, reserved, stock

from channelhub.model.orders import ChannelFulfillment, FinancialStatus
from channelhub.stock import ledger
from channelhub.store import Database
from channelhub.sync.apply import apply_orders
from channelhub.testing.engine import release_holds
from channelhub.testing.fakes import BASE_TIME, make_order


def apply(db: Database, *orders, source: str = "test"):
    with db.transaction() as session:
        return apply_orders(session, list(orders), source=source, policies=POLICIES, now=BASE_TIME)


def later(order, hours: int, **changes):
    return order.model_copy(update={"updated_at": order.updated_at + timedelta(hours=hours), **changes})


def test_new_paid_order_reserves_confirms_and_publishes(database: Database) -> None:
    stock(database, {"SKU-1": 10, "SKU-2": 4})
    report = apply(database, make_order("1", [("SKU-1", 3), ("SKU-2", 1)]))
    row = order_row(database, "1")
    assert (row.state, report.confirmed) == ("confirmed", 1)
    assert events(database, row.id) == [(None, "placed"), ("placed", "confirmed")]
    assert reserved(database, "SKU-1") == 3 and reserved(database, "SKU-2") == 1
    published = {r.subject: r.payload["quantity"] for r in outbox(database, ["stock"])}
    assert published["SKU-1"] == 7 and published["SKU-2"] == 3


def test_holds_for_channel_payment_short_stock_and_unknown_sku(database: Database) -> None:
    stock(database, {"SKU-1": 1})
    apply(
        database,
        make_order("h1", hold_reason="status 'Review' unknown"),
        make_order("h2", financial_status=FinancialStatus.PENDING),
        make_order("h3", [("SKU-1", 5)]),
        make_order("h4", [("NOPE", 1)]),
    )
    rows = {ext: order_row(database, ext) for ext in ("h1", "h2", "h3", "h4")}
    assert {ext: (r.state, r.hold_kind) for ext, r in rows.items()} == {
        "h1": ("on_hold", "channel"),
        "h2": ("on_hold", "payment"),
        "h3": ("on_hold", "stock"),
        "h4": ("on_hold", "stock"),
    }
    assert rows["h1"].hold_reason == "status 'Review' unknown"
    assert rows["h2"].hold_reason == "awaiting payment"
    assert "short stock for 'SKU-1'" in rows["h3"].hold_reason
    assert "unknown SKU 'NOPE'" in rows["h4"].hold_reason
    assert reserved(database, "SKU-1") == 0


def test_settled_payment_releases_a_payment_hold(database: Database) -> None:
    stock(database, {"SKU-1": 5})
    pending = make_order("p1", [("SKU-1", 2)], financial_status=FinancialStatus.PENDING)
    apply(database, pending)
    apply(database, later(pending, 1, financial_status=FinancialStatus.PAID))
    row = order_row(database, "p1")
    assert row.state == "confirmed" and row.hold_reason == "" and reserved(database, "SKU-1") == 2
    assert events(database, row.id)[-1] == ("on_hold", "confirmed")


def test_stock_arrival_releases_holds_oldest_first(database: Database) -> None:
    stock(database, {"SKU-1": 0})
    first = make_order("s1", [("SKU-1", 2)], placed_at=BASE_TIME)
    second = make_order("s2", [("SKU-1", 2)], placed_at=BASE_TIME + timedelta(minutes=5))
    apply(database, second, first)
    assert order_row(database, "s1").state == order_row(database, "s2").state == "on_hold"
    with database.transaction() as session:
        ledger.set_on_hand(session, "SKU-1", "WH1", 3, "delivery")
    report = release_holds(database, POLICIES, ["SKU-1"])
    assert report.confirmed == 1
    assert order_row(database, "s1").state == "confirmed"
    assert order_row(database, "s2").state == "on_hold"
    with database.transaction() as session:
        ledger.adjust_on_hand(session, "SKU-1", "WH1", 1, "another delivery")
    release_holds(database, POLICIES, ["SKU-1"])
    assert order_row(database, "s2").state == "confirmed" and reserved(database, "SKU-1") == 4


def test_cancel_releases_reservations(database: Database) -> None:
    stock(database, {"SKU-1": 5})
    order = make_order("c1", [("SKU-1", 2)])
    apply(database, order)
    apply(database, later(order, 1, cancelled_at=BASE_TIME + timedelta(hours=1)))
    assert order_row(database, "c1").state == "cancelled" and reserved(database, "SKU-1") == 0
    assert outbox(database, ["stock"])[-1].payload["quantity"] == 5


def test_channel_shipped_commits_stock_and_the_lifecycle_never_moves_back(database: Database) -> None:
    stock(database, {"SKU-1": 5})
    order = make_order("d1", [("SKU-1", 2)])
    apply(database, order)
    apply(database, later(order, 2, fulfillment=ChannelFulfillment.DELIVERED))
    row = order_row(database, "d1")
    assert row.state == "delivered"
    assert on_hand(database, "SKU-1") == 3 and reserved(database, "SKU-1") == 0
    assert [e[1] for e in events(database, row.id)] == ["placed", "confirmed", "shipped", "delivered"]
    # An old "shipped" webhook arrives late, and then a newer one that still says only shipped.
    apply(database, later(order, 1, fulfillment=ChannelFulfillment.FULFILLED))
    apply(database, later(order, 3, fulfillment=ChannelFulfillment.FULFILLED))
    assert order_row(database, "d1").state == "delivered"
    assert on_hand(database, "SKU-1") == 3
    assert len(events(database, row.id)) == 4


def test_cancelling_a_shipped_order_is_a_reported_conflict(database: Database) -> None:
    stock(database, {"SKU-1": 5})
    order = make_order("x1", [("SKU-1", 1)])
    apply(database, order, later(order, 1, fulfillment=ChannelFulfillment.FULFILLED))
    report = apply(database, later(order, 2, cancelled_at=BASE_TIME + timedelta(hours=2)))
    assert order_row(database, "x1").state == "shipped"
    assert report.conflicts and "cannot cancel" in report.conflicts[0]


def test_stored_document_is_the_whole_order(database: Database) -> None:
    """The document leaves out fields at their defaults, yet validates back to exactly the order applied."""
    from channelhub.model.orders import Order

    stock(database, {"SKU-1": 10})
    order = make_order("doc", [("SKU-1", 2)])
    apply(database, order)
    document = order_row(database, "doc").document
    assert "refunds" not in document  # a default, left out
    assert Order.model_validate(document) == order


def test_new_orders_are_counted_by_the_state_they_end_in(database: Database) -> None:
    """Defect 12: a page of completed orders read "0 confirmed, 20000 held" when they were stored as shipped."""
    from channelhub.cli.ops import describe_pull
    from channelhub.sync.ingest import IngestReport

    stock(database, {"SKU-1": 5})
    report = apply(
        database,
        make_order("f1", [("SKU-1", 1)], fulfillment=ChannelFulfillment.FULFILLED),
        make_order("f2", [("NO-SUCH-SKU", 1)], fulfillment=ChannelFulfillment.FULFILLED),  # not reservable
        make_order("n1", [("SKU-1", 1)]),
        make_order("n2", [("NO-SUCH-SKU", 1)]),
    )
    assert {ext: order_row(database, ext).state for ext in ("f1", "f2", "n1", "n2")} == {
        "f1": "shipped", "f2": "shipped", "n1": "confirmed", "n2": "on_hold",
    }  # fmt: skip
    assert (report.created, report.shipped, report.confirmed, report.held) == (4, 2, 1, 1)
    line = describe_pull(IngestReport(channel="shop", orders=report))
    assert "1 confirmed, 1 held, 2 shipped by the channel" in line, line
