"""The connector through its contract methods over a local folder: pull pages and the move after commit,
large files in pages, stock feeds and shipping confirmations written atomically under deterministic names."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector

from channelhub.errors import ConfigError, Fatal, Skippable
from channelhub.model import Shipment, ShipmentLine
from channelhub.ports import Capability, FulfillmentRequest, PullRequest, StockUpdate

from .conftest import FIXTURES

Make = Callable[..., MarketplaceConnector]
NOW = datetime(2026, 11, 22, tzinfo=UTC)
REQUEST = PullRequest(cursor=None, overlap=timedelta(0), now=NOW)


def test_declares_the_contract_and_is_registered_as_an_entry_point() -> None:
    assert MarketplaceConnector.kind == "marketplace"
    assert MarketplaceConnector.capabilities == {
        Capability.PULL_ORDERS,
        Capability.PUSH_STOCK,
        Capability.PUSH_FULFILLMENT,
    }
    assert MarketplaceConnector.limits.stock_per_call == 500
    (point,) = [p for p in entry_points(group="channelhub.connectors") if p.name == "marketplace"]
    assert point.load() is MarketplaceConnector


def test_settings_are_checked_and_name_the_key(make_connector: Make) -> None:
    with pytest.raises(ConfigError) as caught:
        make_connector(inbx="x")
    assert caught.value.where == "channel mp: settings.inbx"
    with pytest.raises(ConfigError, match="needs one of password"):
        make_connector(transport="sftp", host="127.0.0.1", username="u")
    with pytest.raises(ConfigError, match="is a stock layout, not orders"):
        make_connector(orders_layout="amazon_price_quantity")
    with pytest.raises(ConfigError, match="not ASCII-compatible"):
        make_connector(encoding="utf-16")


def test_each_inbox_file_is_one_page_moved_to_processed_only_after_commit(make_connector: Make, root: Path) -> None:
    connector = make_connector()
    for name in ("b-second.csv", "a-first.csv"):
        (root / "inbox" / name).write_bytes((FIXTURES / "generic_orders.csv").read_bytes())
    (root / "inbox" / "notes.pdf").write_bytes(b"not an order file")

    pages = list(connector.pull_orders(REQUEST))
    assert [p.label for p in pages] == ["a-first.csv", "b-second.csv"]
    first = pages[0]
    assert {r.external_id for r in first.records} == {"G-1001", "G-1002"}
    assert first.cursor is None
    assert first.content_hash == hashlib.sha256((FIXTURES / "generic_orders.csv").read_bytes()).hexdigest()
    assert {r.source for r in first.records} == {"inbox/a-first.csv lines 2, 4", "inbox/a-first.csv line 3"}
    # Nothing moves before the engine says the page is committed: a crash here re-reads the file.
    assert (root / "inbox" / "a-first.csv").exists()
    assert first.on_committed is not None
    first.on_committed()
    assert (root / "processed" / "a-first.csv").exists() and not (root / "inbox" / "a-first.csv").exists()
    assert [p.label for p in connector.pull_orders(REQUEST)] == ["b-second.csv"]


def test_a_file_dropped_again_under_the_same_name_keeps_both_in_processed(make_connector: Make, root: Path) -> None:
    connector = make_connector()
    for content in (b"order_id,order_date,sku,quantity,unit_price,currency\n", b"order_id\n"):
        (root / "inbox" / "o.csv").write_bytes(content)
        (page,) = connector.pull_orders(REQUEST)
        assert page.on_committed is not None
        page.on_committed()
    assert sorted(p.name for p in (root / "processed").iterdir()) == ["o.csv", "o~1.csv"]


def test_a_missing_inbox_is_fatal_not_an_empty_channel(make_connector: Make, root: Path) -> None:
    connector = make_connector(inbox="incoming")
    (root / "incoming").rmdir()
    with pytest.raises(Fatal, match="does not exist"):
        list(connector.pull_orders(REQUEST))


def test_a_large_file_comes_in_pages_and_only_the_last_carries_hash_and_move(make_connector: Make, root: Path) -> None:
    lines = [b"order_id,order_date,sku,quantity,unit_price,currency\n"]
    for n in range(1, 8):  # orders 1..7, order 3 on two adjacent rows
        lines.append(b"O-%d,2026-11-20,SKU-%d,1,1.00,EUR\n" % (n, n))
        if n == 3:
            lines.append(b"O-3,2026-11-20,SKU-X,2,1.00,EUR\n")
    data = b"".join(lines)
    (root / "inbox" / "big.csv").write_bytes(data)
    pages = list(make_connector(page_size=3).pull_orders(REQUEST))
    ids = [[r.external_id for r in p.records] for p in pages]
    assert ids == [["O-1", "O-2", "O-3"], ["O-4", "O-5", "O-6"], ["O-7"]]
    assert [p.content_hash is None for p in pages] == [True, True, False]
    assert [p.on_committed is None for p in pages] == [True, True, False]
    assert pages[-1].content_hash == hashlib.sha256(data).hexdigest()
    assert pages[0].records[2].source == "inbox/big.csv lines 4-5"


def test_rows_of_an_order_met_again_after_its_page_are_a_problem_not_a_second_half(
    make_connector: Make, root: Path
) -> None:
    data = (
        b"order_id,order_date,sku,quantity,unit_price,currency\n"
        b"O-1,2026-11-20,A,1,1,EUR\nO-2,2026-11-20,A,1,1,EUR\nO-3,2026-11-20,A,1,1,EUR\nO-1,2026-11-20,B,1,1,EUR\n"
    )
    (root / "inbox" / "scattered.csv").write_bytes(data)
    pages = list(make_connector(page_size=2).pull_orders(REQUEST))
    late = [r for p in pages for r in p.records if r.problem]
    assert len(late) == 1 and late[0].external_id == "O-1"
    assert late[0].source == "inbox/scattered.csv line 5"
    assert late[0].problem.startswith("order O-1 was already read in an earlier page")


def stock(n: int, sku: str, quantity: int) -> StockUpdate:
    return StockUpdate(sku=sku, quantity=quantity, idempotency_key=f"key-{n}")


def test_push_stock_writes_one_feed_named_from_the_keys_and_a_retry_rewrites_it(
    make_connector: Make, root: Path
) -> None:
    connector = make_connector()
    batch = [stock(1, "MUG-RED", 5), stock(2, "TEA-1KG", 0), stock(3, "MUG-RED", 7)]
    results = connector.push_stock(batch)
    assert [(r.idempotency_key, r.ok, r.confirmed_quantity) for r in results] == [
        ("key-1", True, 7),  # the batch named MUG-RED twice: the last quantity is what the file says
        ("key-2", True, 0),
        ("key-3", True, 7),
    ]
    files = sorted(p.name for p in (root / "outbox").iterdir())
    expected = "stock-" + hashlib.sha256(b"key-1\nkey-2\nkey-3").hexdigest()[:16] + ".tsv"
    assert files == [expected]  # no temporary file left behind
    assert (root / "outbox" / expected).read_text() == (
        "sku\tprice\tquantity\thandling-time\tfulfillment-channel\nMUG-RED\t\t7\t\t\nTEA-1KG\t\t0\t\t\n"
    )
    # A retry of the same batch, in another order, after a process killed mid-write left its temporary file.
    (root / "outbox" / f".{expected}.0123456789ab.part").write_text("sku\tpri")
    connector.push_stock(list(reversed(batch)))
    assert sorted(p.name for p in (root / "outbox").iterdir()) == [expected]
    connector.push_stock([stock(4, "MUG-RED", 1)])
    assert len(list((root / "outbox").iterdir())) == 2


def test_a_sku_the_feed_cannot_hold_fails_alone(make_connector: Make, root: Path) -> None:
    results = make_connector().push_stock([stock(1, "BAD\tSKU", 1), stock(2, "OK", 2)])
    assert [r.ok for r in results] == [False, True]
    assert "delimiter" in (results[0].error or "") and not results[0].retryable
    (feed,) = (root / "outbox").iterdir()
    assert "BAD" not in feed.read_text()


def test_push_stock_refuses_more_than_its_limit(make_connector: Make) -> None:
    with pytest.raises(Fatal, match="exceeds"):
        make_connector().push_stock([stock(n, f"S{n}", 1) for n in range(501)])


def fulfillment(lines: tuple[ShipmentLine, ...], key: str = "ship-1") -> FulfillmentRequest:
    shipment = Shipment(
        carrier="DHL",
        service="Paket",
        tracking_number="JD0123456789",
        shipped_at=datetime(2026, 11, 21, 10, tzinfo=UTC),
        lines=lines,
    )
    return FulfillmentRequest(
        order_external_id="302-1111111-2222222",
        order_number="302-1111111-2222222",
        shipment=shipment,
        line_external_ids={"MUG-RED": "51000000000001", "MUG-BLUE": "51000000000002"},
        idempotency_key=key,
    )


def test_push_fulfillment_writes_a_shipping_confirmation_per_request(make_connector: Make, root: Path) -> None:
    connector = make_connector()
    connector.push_fulfillment(fulfillment((ShipmentLine(sku="MUG-RED", quantity=2),)))
    connector.push_fulfillment(fulfillment((ShipmentLine(sku="MUG-RED", quantity=2),)))  # a retry
    name = "shipment-" + hashlib.sha256(b"ship-1").hexdigest()[:16] + ".tsv"
    assert [p.name for p in (root / "outbox").iterdir()] == [name]
    assert (root / "outbox" / name).read_text() == ((FIXTURES / "amazon_shipping_confirmation.tsv").read_text())


def test_a_shipment_of_every_unit_lists_each_line_with_an_empty_quantity(make_connector: Make, root: Path) -> None:
    make_connector().push_fulfillment(fulfillment((), key="ship-all"))
    (feed,) = (root / "outbox").iterdir()
    rows = [line.split("\t") for line in feed.read_text().splitlines()[1:]]
    assert [(r[1], r[2]) for r in rows] == [("51000000000002", ""), ("51000000000001", "")]


def test_a_shipped_sku_without_a_channel_line_is_skippable(make_connector: Make, root: Path) -> None:
    with pytest.raises(Skippable, match="no channel line id for SKU 'LAMP'"):
        make_connector().push_fulfillment(fulfillment((ShipmentLine(sku="LAMP", quantity=1),)))
    assert not (root / "outbox").exists()


def test_a_file_taken_away_after_the_listing_is_passed_over(make_connector: Make, root: Path) -> None:
    connector = make_connector()
    (root / "inbox" / "a.csv").write_text("order_id\n")
    listed = connector.transport.list_files

    def list_then_lose(directory: str, pattern: object) -> list[str]:
        names = listed(directory, pattern)  # type: ignore[arg-type]
        (root / "inbox" / "a.csv").unlink()  # the marketplace pulled its file back
        return names

    connector.transport.list_files = list_then_lose  # type: ignore[method-assign]
    assert list(connector.pull_orders(REQUEST)) == []


def test_preflight_finds_a_missing_root_or_inbox_and_nothing_else(make_connector: Make, tmp_path: Path) -> None:
    connector = make_connector()
    assert connector.preflight() == []  # processed/ and outbox/ do not exist yet: they are created when needed
    assert not (tmp_path / "root" / "processed").exists()

    (tmp_path / "root" / "inbox").rmdir()
    assert connector.preflight() == [
        f"settings.inbox: {tmp_path / 'root' / 'inbox'}: folder does not exist (create it, or fix the channel's root)"
    ]
    (tmp_path / "root").rmdir()
    assert connector.preflight() == [f"settings.root: folder {tmp_path / 'root'} does not exist"]
    (tmp_path / "root").write_text("not a folder")
    assert connector.preflight() == [f"settings.root: {tmp_path / 'root'} is not a folder"]
    with pytest.raises(Fatal):  # what the first pull would meet
        list(connector.pull_orders(REQUEST))
