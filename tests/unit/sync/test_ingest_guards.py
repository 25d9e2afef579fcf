"""Ingest never lets one record block the others (defect 1), and work after a page's commit never stops a
channel (defect 9): each guard of `channelhub.sync.ingest` and `run_pull`, on both backends."""

from __future__ import annotations

import json
from datetime import timedelta

from sync_helpers import POLICIES, count, inbox, order_row, stock

from channelhub.model.orders import Order
from channelhub.ports import PulledPage, RawRecord
from channelhub.store import Database
from channelhub.store.tables import OrderRow
from channelhub.sync.ingest import IngestRules
from channelhub.sync.pull import run_pull
from channelhub.testing.fakes import BASE_TIME, FakeOrderSource, make_order, order_record

OVERLAP = timedelta(minutes=5)


def pull(db: Database, source: FakeOrderSource, rules: IngestRules = IngestRules()):
    return run_pull(db, source, policies=POLICIES, overlap=OVERLAP, rules=rules, now=BASE_TIME + timedelta(days=1))


class UncheckedSource(FakeOrderSource):
    """A connector with a bug: it builds orders without validating them (model_construct), so a value the model
    would refuse reaches the database."""

    def map_order(self, record: RawRecord) -> Order:
        data = json.loads(record.body)
        if data.get("poison"):
            good = make_order(data["id"])
            line = good.lines[0].model_construct(**{**dict(good.lines[0]), "quantity": 2**70})
            return good.model_construct(**{**dict(good), "lines": (line,)})
        if data.get("crash"):
            raise ZeroDivisionError("division by zero in the connector")
        return make_order(data["id"])


def raw(n: int, **flags: object) -> RawRecord:
    return RawRecord("orders", f"record {n}", json.dumps({"id": f"R-{n}", **flags}))


def test_a_value_the_database_refuses_quarantines_only_its_own_order(database: Database) -> None:
    stock(database, {"SKU-1": 10})
    source = UncheckedSource(pages=[[raw(1), raw(2, poison=True), raw(3)]])
    report = pull(database, source, IngestRules(max_line_quantity=2**80))  # past every check but the database's
    assert report.ok and report.applied == 2 and report.quarantined == 1
    assert {order_row(database, f"R-{n}").state for n in (1, 3)} == {"confirmed"}
    assert count(database, OrderRow) == 2
    [bad] = [r for r in inbox(database) if r.status == "quarantined"]
    assert bad.source == "record 2" and "the database refused this order" in bad.reason
    assert source.committed == ["page-0"] and report.pages == 1


def test_a_connector_that_raises_anything_while_mapping_quarantines_the_record_and_goes_on(
    database: Database,
) -> None:
    stock(database, {"SKU-1": 10})
    report = pull(database, UncheckedSource(pages=[[raw(1), raw(2, crash=True)], [raw(3)]]))
    assert report.ok and report.applied == 2 and report.quarantined == 1
    [bad] = [r for r in inbox(database) if r.status == "quarantined"]
    assert "ZeroDivisionError: division by zero in the connector" in bad.reason


def test_a_line_above_the_channels_max_line_quantity_is_quarantined(database: Database) -> None:
    stock(database, {"SKU-1": 10})
    source = FakeOrderSource(pages=[[make_order("big", [("SKU-1", 50)]), make_order("ok", [("SKU-1", 2)])]])
    report = pull(database, source, IngestRules(max_line_quantity=20))
    assert report.quarantined == 1 and count(database, OrderRow) == 1
    [bad] = [r for r in inbox(database) if r.status == "quarantined"]
    assert "quantity 50 is above this channel's max_line_quantity of 20" in bad.reason


def test_a_failure_after_the_commit_is_logged_and_tried_again_on_the_next_pull(database: Database) -> None:
    stock(database, {"SKU-1": 10})
    attempts: list[int] = []

    def move_away() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("processed/ is read-only")

    def page() -> PulledPage:
        return PulledPage(records=[order_record(make_order("f1"))], label="f.csv", content_hash="h1",
                          on_committed=move_away)  # fmt: skip

    source = FakeOrderSource(pages=[page(), [make_order("f2")]])
    first = pull(database, source)
    assert first.ok and not first.stopped and first.pages == 2  # the page after it was imported too
    assert count(database, OrderRow) == 2
    source.pages = [page()]
    second = pull(database, source)
    assert second.duplicate_files == 1 and len(attempts) == 2  # the file is recognised and moved this time
    assert count(database, OrderRow) == 2
