"""Sellable quantity per channel and the stock rows it enqueues in the caller's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from channelhub.model.stock import BufferRules
from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.stock.sellable import sellable_by_channel
from channelhub.store import Database
from channelhub.store.tables import OutboxRow, StockLevelRow
from channelhub.sync.publish import publish


def outbox(database: Database) -> list[tuple[str, str, dict[str, object]]]:
    with database.transaction() as s:
        rows = s.execute(select(OutboxRow.channel, OutboxRow.subject, OutboxRow.payload).order_by(OutboxRow.id))
        return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture(autouse=True)
def declared_locations(database: Database) -> None:
    with database.transaction() as s:
        ledger.declare_locations(s, [("main", "", 0), ("store", "", 1)])


def seed(database: Database) -> None:
    with database.transaction() as s:
        ledger.ensure_sku(s, "A", safety_stock=2)
        ledger.set_on_hand(s, "A", "main", 10, reason="count")
        ledger.set_on_hand(s, "A", "store", 5, reason="count")
        ledger.set_on_hand(s, "B", "main", 1, reason="count")


def test_sellable_sums_locations_minus_reserved_and_safety_stock(database: Database) -> None:
    seed(database)
    with database.transaction() as s:
        # Reserved counts set directly: this test is about the arithmetic, not about reserving.
        s.execute(
            update(StockLevelRow).where(StockLevelRow.sku == "A", StockLevelRow.location == "main").values(reserved=3)
        )
        s.execute(update(StockLevelRow).where(StockLevelRow.sku == "B").values(reserved=1))
        got = sellable_by_channel(
            s,
            ["A", "B", "GHOST"],
            [ChannelStockPolicy("web"), ChannelStockPolicy("pos", locations=("store",))],
        )
    # web: A = (10 - 3) + 5 - 2 safety = 10; B = 1 - 1 = 0; pos sees only "store": A 5 - 2 = 3, B none.
    # GHOST is not in the ledger, so no channel gets a quantity for it.
    assert got == {"web": {"A": 10, "B": 0}, "pos": {"A": 3, "B": 0}}


def test_safety_stock_floors_at_zero(database: Database) -> None:
    with database.transaction() as s:
        ledger.ensure_sku(s, "A", safety_stock=5)
        ledger.set_on_hand(s, "A", "main", 3, reason="count")
        assert sellable_by_channel(s, ["A"], [ChannelStockPolicy("web")]) == {"web": {"A": 0}}


def test_buffers_percentage_max_listed_and_zero_below(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 15, reason="count")
        ledger.set_on_hand(s, "B", "main", 3, reason="count")
        got = sellable_by_channel(
            s,
            ["A", "B"],
            [
                ChannelStockPolicy("half", buffers=BufferRules(percentage=50)),
                ChannelStockPolicy("capped", buffers=BufferRules(max_listed=4)),
                ChannelStockPolicy("cautious", buffers=BufferRules(zero_below=5)),
            ],
        )
    assert got == {"half": {"A": 7, "B": 1}, "capped": {"A": 4, "B": 3}, "cautious": {"A": 15, "B": 0}}


def test_policy_skus_limit_what_a_channel_lists(database: Database) -> None:
    seed(database)
    with database.transaction() as s:
        got = sellable_by_channel(s, ["A", "B"], [ChannelStockPolicy("amazon", skus=frozenset({"B"}))])
    assert got == {"amazon": {"B": 1}}


def test_publish_enqueues_a_row_per_listing_channel_and_sku(database: Database) -> None:
    seed(database)
    policies = [ChannelStockPolicy("web"), ChannelStockPolicy("amazon", skus=frozenset({"B"}))]
    with database.transaction() as s:
        assert publish(s, ["A", "B"], policies, cause="movement:1") == 3
    assert sorted(outbox(database)) == [
        ("amazon", "B", {"sku": "B", "quantity": 1}),
        ("web", "A", {"sku": "A", "quantity": 13}),
        ("web", "B", {"sku": "B", "quantity": 1}),
    ]


def test_publish_skips_a_value_already_latest_pending_and_repeated_causes(database: Database) -> None:
    seed(database)
    web = [ChannelStockPolicy("web", skus=frozenset({"B"}))]
    with database.transaction() as s:
        assert publish(s, ["B"], web, cause="movement:1") == 1
        assert publish(s, ["B"], web, cause="movement:2") == 0  # same quantity already pending
        ledger.adjust_on_hand(s, "B", "main", 4, reason="delivery")
        assert publish(s, ["B"], web, cause="movement:3") == 1
        ledger.adjust_on_hand(s, "B", "main", -4, reason="miscount")
        # The latest pending row says 5, so 1 is queued again even though an older pending row says 1.
        assert publish(s, ["B"], web, cause="movement:4") == 1
        assert publish(s, ["B"], web, cause="movement:4") == 0
    assert [p["quantity"] for _, _, p in outbox(database)] == [1, 5, 1]


def test_publish_requeues_once_the_pending_row_was_sent(database: Database) -> None:
    seed(database)
    web = [ChannelStockPolicy("web", skus=frozenset({"B"}))]
    with database.transaction() as s:
        publish(s, ["B"], web, cause="movement:1")
        s.execute(update(OutboxRow).values(status="done"))
        # Not filtered against what the channel confirmed: the dispatcher decides that.
        assert publish(s, ["B"], web, cause="movement:2") == 1


def test_a_repeated_cause_with_a_new_quantity_is_a_new_write_never_a_lost_one(database: Database) -> None:
    seed(database)
    web = [ChannelStockPolicy("web", skus=frozenset({"B"}))]
    with database.transaction() as s:
        assert publish(s, ["B"], web, cause="release_holds") == 1
        s.execute(update(OutboxRow).values(status="done"))
        ledger.adjust_on_hand(s, "B", "main", 2, reason="delivery")
        assert publish(s, ["B"], web, cause="release_holds") == 1
    assert [p["quantity"] for _, _, p in outbox(database)] == [1, 3]
