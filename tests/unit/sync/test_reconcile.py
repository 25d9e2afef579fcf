"""Reconcile reports what a channel lists differently from the hub, ignores writes still on their way, and heals
through the outbox so the next dispatch sets the channel right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channelhub.errors import Retryable
from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.sync.dispatch import Dispatcher
from channelhub.sync.publish import publish
from channelhub.sync.reconcile import Drift, reconcile
from channelhub.testing.fakes import RecordingConnector

POLICY = ChannelStockPolicy("shop")


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(seconds=1)


def _stocked(database: Database, shop: RecordingConnector) -> Dispatcher:
    with database.transaction() as session:
        ledger.ensure_location(session, "main")
        for sku, qty in {"A": 5, "B": 3, "C": 0}.items():
            ledger.set_on_hand(session, sku, "main", qty, reason="count")
        publish(session, ["A", "B", "C"], [POLICY], cause="count")
    dispatcher = Dispatcher(database, {"shop": shop}, worker_id="t")
    dispatcher.run_once(_later())
    return dispatcher


def test_in_step_channel_shows_no_drift(database: Database) -> None:
    shop = RecordingConnector("shop")
    _stocked(database, shop)
    report = reconcile(database, shop, POLICY)
    assert report.checked == 3 and report.drifts == [] and not report.error


def test_drift_is_reported_and_healed_through_the_outbox(database: Database) -> None:
    shop = RecordingConnector("shop")
    dispatcher = _stocked(database, shop)
    shop.listed["A"] = 9  # someone edited the listing at the channel
    del shop.listed["B"]  # and the channel lost another

    report = reconcile(database, shop, POLICY)
    assert report.drifts == [Drift("A", 9, 5), Drift("B", None, 3)] and report.healed == 0
    calls = len(shop.stock_calls)
    dispatcher.run_once(_later())
    assert len(shop.stock_calls) == calls  # reporting alone writes nothing

    healed = reconcile(database, shop, POLICY, heal=True)
    assert healed.healed == 2
    # A write for A is still queued, so a second look does not count it as drift again.
    assert reconcile(database, shop, POLICY).in_flight == 2
    dispatcher.run_once(_later())
    assert {u.sku: (u.quantity, u.previous) for u in shop.stock_calls[-1]} == {"A": (5, 9), "B": (3, None)}
    assert reconcile(database, shop, POLICY).drifts == []


def test_a_channel_that_cannot_answer_is_reported_not_healed(database: Database) -> None:
    shop = RecordingConnector("shop")
    _stocked(database, shop)

    def refuse(skus: object) -> dict[str, int]:
        raise Retryable("channel down")

    shop.pull_stock = refuse  # type: ignore[method-assign]
    report = reconcile(database, shop, POLICY, heal=True)
    assert report.error == "channel down" and report.healed == 0
