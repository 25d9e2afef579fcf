"""A malformed line costs that line, never the rows after it: stray quotes, huge fields and a quote left open at
the end of the file quarantine their first line alone, with its raw bytes kept for a replay after a layout fix;
real multi-line quoted fields still make one row."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector
from channelhub_connectors.marketplace.layouts import layout_search_path

from channelhub.errors import MappingError
from channelhub.ports import ConnectorContext, PullRequest, RawRecord

Make = Callable[..., MarketplaceConnector]
REQUEST = PullRequest(cursor=None, overlap=timedelta(0), now=datetime(2026, 11, 22, tzinfo=UTC))
HEADER = b"order_id,order_date,line_id,sku,title,quantity,unit_price,currency\n"


def row(n: int, title: bytes = b"Mug") -> bytes:
    return b"R-%05d,2026-11-20,1,SKU-%d,%s,1,9.50,EUR\n" % (n, n % 50, title)


def pull(connector: MarketplaceConnector) -> list[RawRecord]:
    return [record for page in connector.pull_orders(REQUEST) for record in page.records]


def raw_lines(record: RawRecord) -> list[tuple[int, list[str | dict[str, str]]]]:
    """(first line, raw lines) of each row a problem record keeps."""
    return [(entry[0], entry[2]) for entry in json.loads(record.body)["rows"]]


def shown(record: RawRecord) -> str:
    """The quarantine reason as the engine stores it."""
    return f"{record.source}: {record.problem}"


def test_a_stray_quote_quarantines_its_own_line_and_the_9999_rows_around_it_import(
    make_connector: Make, root: Path
) -> None:
    lines = [HEADER] + [row(n) for n in range(2, 10_002)]  # 10,000 orders on lines 2..10001
    stray = b'R-00011,2026-11-20,1,SKU-11,"Mug 11,1,9.50,EUR\n'
    lines[10] = stray  # line 11
    (root / "inbox" / "big.csv").write_bytes(b"".join(lines))
    records = pull(make_connector())

    problems = [r for r in records if r.problem]
    assert len(problems) == 1
    (bad,) = problems
    assert bad.external_id == "R-00011"
    assert shown(bad).startswith("inbox/big.csv line 11: unbalanced quote: a quoted field opened on this line")
    assert raw_lines(bad) == [(11, [stray.decode()])]  # the line's exact text, line break included
    good = [r for r in records if not r.problem]
    assert len(good) == 9_999
    assert {r.external_id for r in good} == {f"R-{n:05d}" for n in range(2, 10_002)} - {"R-00011"}
    assert next(r for r in good if r.external_id == "R-00012").source == "inbox/big.csv line 12"


def test_a_stray_quote_that_closes_on_a_later_line_is_caught_by_the_field_count(
    make_connector: Make, root: Path
) -> None:
    data = HEADER + row(2) + row(3, b'"Mug, oops') + row(4) + row(5, b'"The Mug, boxed"') + row(6)
    (root / "inbox" / "a.csv").write_bytes(data)
    records = {r.external_id: r for r in pull(make_connector())}
    assert {k for k, r in records.items() if r.problem} == {"R-00003"}
    assert records["R-00003"].problem.startswith(
        "unbalanced quote: a quoted field opened on this line closes on line 5"
    )
    assert records["R-00005"].problem is None and records["R-00004"].problem is None


def test_a_field_over_128_kib_quarantines_only_its_row_and_keeps_its_bytes(make_connector: Make, root: Path) -> None:
    huge = row(3, b"x" * (200 * 1024))
    quoted = row(5, b'"' + b"y" * (100 * 1024) + b"\n" + b"y" * (100 * 1024) + b'"')  # over two lines
    (root / "inbox" / "a.csv").write_bytes(HEADER + row(2) + huge + row(4) + quoted + row(7))
    records = {r.external_id: r for r in pull(make_connector())}
    assert {k for k, r in records.items() if r.problem} == {"R-00003", "R-00005", None}
    assert records["R-00003"].problem == "the line is longer than 131072 bytes, the most a row may hold"
    assert raw_lines(records["R-00003"]) == [(3, [huge.decode()])]
    assert records["R-00005"].problem.startswith("unbalanced quote: a quoted field opened on this line is still open")
    assert records["R-00005"].source == "inbox/a.csv line 5"
    # The second line of the quoted field is read as a row of its own: not an order, quarantined with its text.
    loose = records[None]
    assert loose.source == "inbox/a.csv line 6"
    assert loose.problem == (
        "expected 8 fields, found 4; order id column 'order_id' holds 102401 characters, more than an order id may "
        "(200)"
    )
    assert raw_lines(loose) == [(6, [quoted.split(b"\n")[1].decode() + "\n"])]
    assert {"R-00002", "R-00004", "R-00007"} <= {k for k, r in records.items() if not r.problem}


@pytest.mark.parametrize("last", [True, False])
def test_a_quote_open_at_the_end_of_the_file_quarantines_its_line(make_connector: Make, root: Path, last: bool) -> None:
    tail = [row(4, b'"Mug')] if last else [row(4, b'"Mug'), row(5), row(6)]
    (root / "inbox" / "a.csv").write_bytes(HEADER + row(2) + row(3) + b"".join(tail))
    records = {r.external_id: r for r in pull(make_connector())}
    assert {k for k, r in records.items() if r.problem} == {"R-00004"}
    assert shown(records["R-00004"]) == (
        "inbox/a.csv line 4: unbalanced quote: a quoted field opened on this line is still open at the end of the file"
    )
    assert len(records) == (3 if last else 5)


def test_a_multi_line_quoted_address_is_one_row(make_connector: Make, root: Path) -> None:
    data = (
        b"order_id,order_date,sku,quantity,unit_price,currency,ship_address1,ship_country\n"
        b'A-1,2026-11-20,MUG,1,9.50,EUR,"1 High St\r\nFlat 2\r\nBack door",GB\n'
        b"A-2,2026-11-20,MUG,1,9.50,EUR,2 Low St,GB\n"
    )
    (root / "inbox" / "a.csv").write_bytes(data)
    connector = make_connector()
    records = {r.external_id: r for r in pull(connector)}
    assert [r.problem for r in records.values()] == [None, None]
    assert records["A-1"].source == "inbox/a.csv lines 2-4"
    assert records["A-2"].source == "inbox/a.csv line 5"
    address = connector.map_order(records["A-1"]).shipping_address
    assert address is not None and address.line1 == "1 High St\r\nFlat 2\r\nBack door"


def test_a_bad_row_of_several_lines_names_its_line(make_connector: Make, root: Path) -> None:
    data = HEADER + b'A-1,2026-11-20,1,MUG,"Red\nmug",two,9.50,EUR\n'
    (root / "inbox" / "a.csv").write_bytes(data)
    (record,) = pull(make_connector())
    assert shown(record) == "inbox/a.csv lines 2-3: line 2: column 'quantity': 'two' is not a whole number"


def fixed_layout(tmp_path: Path, **changes: str) -> Path:
    """A channel mapping folder holding generic_orders.yaml with `changes` applied (a merchant's fix)."""
    folder = tmp_path / "mappings"
    folder.mkdir(exist_ok=True)
    text = (layout_search_path()[-1] / "generic_orders.yaml").read_text()
    for old, new in changes.items():
        assert old in text
        text = text.replace(old, new)
    (folder / "generic_orders.yaml").write_text(text)
    return folder


def test_a_quarantined_stray_quote_replays_once_the_layout_is_fixed(
    make_connector: Make, root: Path, tmp_path: Path
) -> None:
    (root / "inbox" / "a.csv").write_bytes(HEADER + row(2) + row(3, b'"Mug') + row(4))
    (bad,) = [r for r in pull(make_connector()) if r.problem]
    replay = replace(bad, problem=None)  # how the engine replays a quarantined inbox row
    with pytest.raises(MappingError, match="unbalanced quote"):  # the same layout still refuses it
        make_connector().map_order(replay)

    mappings = fixed_layout(tmp_path, **{"quoting: true": "quoting: false"})
    context = ConnectorContext(channel="mp", base_dir=tmp_path, mapping_dirs=[mappings])
    order = MarketplaceConnector({"root": "root"}, context).map_order(replay)
    assert order.external_id == "R-00003"
    assert order.lines[0].title == '"Mug'


def test_a_line_not_valid_in_the_encoding_keeps_its_bytes_and_replays_in_the_fixed_encoding(
    make_connector: Make, root: Path
) -> None:
    latin = row(3, "Café".encode("cp1252"))
    (root / "inbox" / "a.csv").write_bytes(HEADER + row(2) + latin)
    (bad,) = [r for r in pull(make_connector()) if r.problem]
    assert raw_lines(bad) == [(3, [{"base64": base64.b64encode(latin).decode()}])]
    replay = replace(bad, problem=None)
    with pytest.raises(MappingError, match="not valid utf-8"):
        make_connector().map_order(replay)
    assert make_connector(encoding="cp1252").map_order(replay).lines[0].title == "Café"


def test_replay_refuses_a_row_whose_field_count_is_not_the_headers(make_connector: Make) -> None:
    connector = make_connector()
    body = {"file": "inbox/t.csv", "layout": "generic_orders",
            "columns": ["order_id", "order_date", "sku", "quantity", "unit_price", "currency"],
            "rows": [[2, ["T-1", "2026-11-20", "MUG", "1", "9.50"]]]}  # fmt: skip
    record = RawRecord(stream="orders", source="inbox/t.csv line 2", body=json.dumps(body), external_id="T-1")
    with pytest.raises(MappingError, match="expected 6 fields, found 5"):
        connector.map_order(record)
    body["rows"] = [[2, ["T-1", "2026-11-20", "MUG", "1", "", "EUR"]]]
    with pytest.raises(MappingError, match="required column 'unit_price' is empty"):
        connector.map_order(replace(record, body=json.dumps(body)))


def test_through_the_engine_the_stray_line_is_quarantined_once_named_and_replays_after_the_fix(
    make_connector: Make, root: Path, tmp_path: Path
) -> None:
    from sqlalchemy import select

    from channelhub.store import open_database
    from channelhub.store.tables import InboxRow, OrderRow
    from channelhub.sync.pull import run_pull
    from channelhub.testing.engine import replay as replay_quarantined

    (root / "inbox" / "a.csv").write_bytes(HEADER + row(2) + row(3, b'"Mug') + row(4))
    db = open_database(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        report = run_pull(db, make_connector(), policies=(), overlap=timedelta(0))
        assert (report.applied, report.quarantined, report.error) == (2, 1, "")
        with db.transaction() as session:
            reasons = session.scalars(select(InboxRow.reason).where(InboxRow.status == "quarantined")).all()
        assert reasons == [
            "inbox/a.csv line 3: unbalanced quote: a quoted field opened on this line is still open at the end of "
            "the file"
        ]
        mappings = fixed_layout(tmp_path, **{"quoting: true": "quoting: false"})
        fixed = MarketplaceConnector(
            {"root": "root"}, ConnectorContext(channel="mp", base_dir=tmp_path, mapping_dirs=[mappings])
        )
        replayed = replay_quarantined(db, fixed)
        assert (replayed.applied, replayed.quarantined) == (1, 0)
        with db.transaction() as session:
            assert sorted(session.scalars(select(OrderRow.external_id))) == ["R-00002", "R-00003", "R-00004"]
    finally:
        db.dispose()


def test_a_line_of_20_mib_is_read_as_its_first_16_mib_and_the_rows_after_it_import(
    make_connector: Make, root: Path
) -> None:
    import hashlib

    from channelhub_connectors.marketplace.rows import MAX_LINE_KEPT

    endless = b"R-00003,2026-11-20,1,SKU-3," + b"z" * (20 * 1024 * 1024) + b",1,9.50,EUR\n"
    data = HEADER + row(2) + endless + row(4) + row(5)
    (root / "inbox" / "a.csv").write_bytes(data)
    pages = list(make_connector().pull_orders(REQUEST))
    records = {r.external_id: r for page in pages for r in page.records}
    assert {k: r.source for k, r in records.items() if r.problem} == {"R-00003": "inbox/a.csv line 3"}
    ((line, (kept,)),) = raw_lines(records["R-00003"])
    assert line == 3 and kept == endless[:MAX_LINE_KEPT].decode()  # memory bounded: not the whole line
    assert {k: r.source for k, r in records.items() if not r.problem} == {
        "R-00002": "inbox/a.csv line 2",
        "R-00004": "inbox/a.csv line 4",
        "R-00005": "inbox/a.csv line 5",
    }
    assert pages[-1].content_hash == hashlib.sha256(data).hexdigest()  # every byte counted, the cut ones too
