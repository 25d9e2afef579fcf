"""Parsing the shipped layouts' files into records: grouping, BOM, malformed rows, wrong bytes, missing columns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector
from channelhub_connectors.marketplace.layouts import available_layouts, layout_search_path, load_layout

from channelhub.errors import ConfigError

from .conftest import FIXTURES


def records(name: str, layout: str | None = None, **options: str) -> list:
    connector = MarketplaceConnector.for_inspection(layout)
    return list(connector.inspect(f"inbox/{name}", (FIXTURES / name).read_bytes(), options))


def by_id(recs: list) -> dict:
    return {r.external_id: r for r in recs}


def rows_of(body: str) -> list[dict]:
    """The body's rows as {"line", "values": {column: text}} (the body itself names the columns once)."""
    data = json.loads(body)
    return [{"line": row[0], "values": dict(zip(data["columns"], row[1], strict=False))} for row in data["rows"]]


def test_shipped_layouts_load_with_their_kinds() -> None:
    found = available_layouts(layout_search_path())
    kinds = {name: load_layout(path).kind for name, path in found.items()}
    assert kinds == {
        "amazon_unshipped_orders": "orders",
        "generic_orders": "orders",
        "amazon_price_quantity": "stock",
        "amazon_shipping_confirmation": "shipments",
    }


def test_amazon_unshipped_rows_of_one_order_are_one_record() -> None:
    recs = by_id(records("amazon_unshipped.tsv", "amazon_unshipped_orders"))
    assert set(recs) == {"302-1111111-2222222", "302-3333333-4444444"}
    two = recs["302-1111111-2222222"]
    assert two.problem is None
    assert two.source == "inbox/amazon_unshipped.tsv lines 2-3"
    body = json.loads(two.body)
    assert body["file"] == "inbox/amazon_unshipped.tsv"
    assert body["layout"] == "amazon_unshipped_orders"
    assert [(row["line"], row["values"]["sku"]) for row in rows_of(two.body)] == [(2, "MUG-RED"), (3, "MUG-BLUE")]
    # Compact: the header once per record, each row as its fields, not every column name again per row.
    assert two.body.count('"sku"') == 1


def test_generic_csv_groups_non_adjacent_rows_and_honours_quotes() -> None:
    recs = by_id(records("generic_orders.csv"))
    assert recs["G-1001"].source == "inbox/generic_orders.csv lines 2, 4"
    rows = rows_of(recs["G-1001"].body)
    assert rows[0]["values"]["title"] == "Red mug, large"
    assert rows_of(recs["G-1002"].body)[0]["values"]["ship_address1"] == "1 High St, Flat 2"


def test_a_utf8_byte_order_mark_and_crlf_do_not_leak_into_the_header() -> None:
    (record,) = records("generic_bom.csv")
    assert record.problem is None
    assert rows_of(record.body)[0]["values"]["order_id"] == "B-1"


def test_a_messy_file_keeps_good_orders_and_quarantines_bad_rows_with_file_and_line() -> None:
    recs = by_id(records("generic_messy.csv"))
    # M-7 has no SKU: not a malformed row (the mapper maps it by title or holds it), so it is no problem here.
    assert {k for k, r in recs.items() if r.problem is None} == {"M-1", "M-7", "M-8"}
    # The engine shows a quarantined record as "<source>: <problem>"; the problem says only what is wrong and
    # names a line only when the record spans several.
    shown = {k: f"{r.source}: {r.problem}" for k, r in recs.items() if r.problem}
    assert shown["M-2"].startswith(
        "inbox/generic_messy.csv lines 3-4: line 4: column 'quantity': 'two' is not a whole number; "
        "order M-2 is quarantined whole: its other rows (line 3) are not imported alone"
    )
    assert len(rows_of(recs["M-2"].body)) == 2  # the good row is kept with the bad one, not imported
    assert shown["M-3"] == "inbox/generic_messy.csv line 5: expected 8 fields, found 7"
    assert shown["M-4"] == "inbox/generic_messy.csv line 6: not valid utf-8 (byte 0xe9 at column 28)"
    assert "\\xe9" in recs["M-4"].body  # the offending byte stays visible in the quarantined body
    assert shown["M-5"] == "inbox/generic_messy.csv line 7: column 'currency': 'ZZZ' is not an ISO 4217 currency code"
    assert shown["M-6"].startswith("inbox/generic_messy.csv line 8: column 'order_date': '20/13/2026' is not a date")
    assert shown["M-9"] == "inbox/generic_messy.csv line 12: column 'unit_price': 'abc' is not a number"


def test_a_problem_never_repeats_its_source() -> None:
    recs = [r for r in records("generic_messy.csv") + records("generic_missing_column.csv") if r.problem]
    assert len(recs) == 8
    for record in recs:
        assert "inbox/" not in record.problem, record.problem
        assert not record.problem.startswith("line ") or record.source.split()[-2] == "lines", record


def test_the_configured_encoding_reads_what_utf8_refuses() -> None:
    recs = by_id(records("generic_messy.csv", encoding="cp1252"))
    assert recs["M-4"].problem is None
    assert rows_of(recs["M-4"].body)[0]["values"]["title"] == "Café cup"


def test_a_missing_required_column_makes_every_row_a_problem_naming_it() -> None:
    recs = records("generic_missing_column.csv")
    assert [r.external_id for r in recs] == ["X-1", "X-2"]
    for record in recs:
        assert record.problem is not None
        assert record.problem.startswith("header (line 1) lacks required column(s) 'quantity', 'currency'")
        assert record.source.startswith("inbox/generic_missing_column.csv line")


def test_stock_and_shipment_files_inspect_one_record_per_row() -> None:
    stock = records("amazon_price_quantity.tsv", "amazon_price_quantity")
    assert [rows_of(r.body)[0]["values"]["quantity"] for r in stock] == ["12", "0"]
    (shipment,) = records("amazon_shipping_confirmation.tsv", "amazon_shipping_confirmation")
    assert rows_of(shipment.body)[0]["values"]["tracking-number"] == "JD0123456789"


@pytest.mark.parametrize(
    ("yaml_text", "key", "words"),
    [
        ("kind: orders\ngroup_by: id\ncolumns: {id: order_id, d: placed_at, s: sku, q: qty}\n", "columns.q", "qty"),
        ("kind: orders\ncolumns: {id: order_id, d: placed_at, s: sku, q: quantity}\n", "group_by", "order id"),
        ("kind: orders\ngroup_by: id\ncolumns: {id: order_id}\n", "columns", "placed_at"),
        ("kind: stock\ncolumns: {s: sku, q: quantity}\nrequired: [price]\n", "required", "'price'"),
        ("kind: stock\ncolumns: {s: sku, q: quantity}\ndelimeter: ','\n", "delimeter", "not permitted"),
        ("kind: stock\ncolumns: {s: sku, q: quantity}\ntimezone: Mars/Olympus\n", "timezone", "Mars"),
        (
            "kind: orders\ngroup_by: id\ncolumns: {id: order_id, d: placed_at, s: sku, q: quantity}\n"
            "status_map: {ok: shipped}\n",
            "status_map.ok",
            "shipped",
        ),
    ],
)
def test_a_broken_layout_names_its_file_and_key(tmp_path: Path, yaml_text: str, key: str, words: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_layout(path)
    assert caught.value.where == f"{path}: {key}"
    assert words in caught.value.message


def test_an_unknown_layout_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="known layouts: amazon_price_quantity"):
        MarketplaceConnector.for_inspection("amazon_orders_typo")
