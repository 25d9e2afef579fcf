"""`import_master_data` over a real Hub on each backend: every good row lands, every bad row is refused with
its file:line and the reason, and a hostile file never writes half a row."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from channelhub.errors import UnknownSku
from channelhub.model.stock import StockLevel
from channelhub.runtime import Hub
from channelhub.services.skus import import_master_data, show
from channelhub.stock import ledger

CONFIG = """
database = "{url}"

[[locations]]
code = "main"
"""
HEADER = "sku,title,hs_code,origin_country,customs_description,declared_value,declared_currency,weight_grams\n"


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    (tmp_path / "channelhub.toml").write_text(CONFIG.format(url=db_url))
    hub = Hub.open(tmp_path / "channelhub.toml")
    yield hub
    hub.close()


def csv_file(tmp_path: Path, body: str | bytes, name: str = "skus.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(body if isinstance(body, bytes) else body.encode("utf-8"))
    return path


def test_good_rows_land_and_stock_is_untouched(hub: Hub, tmp_path: Path) -> None:
    with hub.db.transaction() as s:
        ledger.declare_locations(s, [("main", "", 0)])
        ledger.set_on_hand(s, "TEE-M", "main", 5, reason="count")
    path = csv_file(
        tmp_path,
        HEADER + "MUG-1,Mug,6912.00,PT,Ceramic mug,4.50,EUR,350\nTEE-M,,610910,bd,Cotton T-shirt,3,eur,180\n",
    )
    report = import_master_data(hub, path)
    assert (report.created, report.updated, report.refused, report.imported) == (["MUG-1"], ["TEE-M"], [], 2)
    mug = show(hub, "MUG-1")
    assert (mug.title, mug.hs_code, mug.declared_value, mug.weight_grams) == ("Mug", "691200", Decimal("4.50"), 350)
    assert show(hub, "TEE-M").origin_country == "BD" and show(hub, "TEE-M").missing() == ()
    with hub.db.transaction() as s:
        assert ledger.levels(s, "TEE-M") == [StockLevel(sku="TEE-M", location="main", on_hand=5, reserved=0)]


def test_empty_cells_and_absent_columns_keep_what_is_stored(hub: Hub, tmp_path: Path) -> None:
    import_master_data(hub, csv_file(tmp_path, HEADER + "MUG-1,Mug,691200,PT,Ceramic mug,4.50,EUR,350\n"))
    report = import_master_data(hub, csv_file(tmp_path, "weight_grams,sku\n400,MUG-1\n", "weights.csv"))
    assert report.updated == ["MUG-1"]
    import_master_data(hub, csv_file(tmp_path, HEADER + "MUG-1,,,,,,,\n", "blank.csv"))
    mug = show(hub, "MUG-1")
    assert (mug.title, mug.hs_code, mug.customs_description, mug.weight_grams) == ("Mug", "691200", "Ceramic mug", 400)


def test_hostile_rows_are_refused_with_their_line_and_never_block_the_others(hub: Hub, tmp_path: Path) -> None:
    body = (
        "\ufeff"  # a spreadsheet's UTF-8 BOM before the header
        + HEADER
        + "OK-1,,691200,PT,Mug,1,EUR,1\n"  # line 2
        + "BIG,,691200,PT,Mug,1e400,EUR,1\n"  # line 3
        + f"LONG,,691200,PT,{'x' * 300},1,EUR,1\n"  # line 4
        + "NOWHERE,,691200,XX,Mug,1,EUR,1\n"  # line 5
        + "NEG,,691200,PT,Mug,1,EUR,-5\n"  # line 6
        + "NUL,,691200,PT,Mu\x00g,1,EUR,1\n"  # line 7
        + "LONELY,,691200,PT,Mug,7,,1\n"  # line 8: a value with no currency, for a SKU that has none
        + "OK-1,,,,,,,2\n"  # line 9: given twice, the later row wins
        + ",,691200,PT,Mug,1,EUR,1\n"  # line 10: no SKU
        + "SHORT,691200\n"  # line 11
    )
    report = import_master_data(hub, csv_file(tmp_path, body))
    refused = {r.line: (r.sku, r.reason) for r in report.refused}
    assert sorted(refused) == [3, 4, 5, 6, 7, 8, 10, 11]
    assert "too large" in refused[3][1]
    assert "customs_description" in refused[4][1] and "at most 200" in refused[4][1]
    assert "unknown ISO 3166" in refused[5][1]
    assert "weight_grams" in refused[6][1]
    assert "NUL" in refused[7][1]
    assert "go together" in refused[8][1]
    assert refused[10] == ("", "no SKU")
    assert "2 cell(s), the header names 8" in refused[11][1]
    assert str(report.refused[0]).startswith(f"{tmp_path / 'skus.csv'}:3: 'BIG' ")
    assert report.notes == [f"{tmp_path / 'skus.csv'}:9: 'OK-1' also on line 2; the later row's fields win"]
    assert show(hub, "OK-1").weight_grams == 2
    for sku in ("BIG", "LONG", "NOWHERE", "NEG", "NUL", "LONELY", "SHORT"):
        with pytest.raises(UnknownSku):
            show(hub, sku)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty file"),
        (b"sku,hs_cod\nA,691200\n", "unknown column(s) 'hs_cod'"),
        (b"sku,sku\nA,B\n", "given twice: sku"),
        (b"title\nMug\n", "no 'sku' column"),
        (b"sku,title\nA,\xff\xfe\n", "not UTF-8"),
        (b'sku,title\nA,"unclosed\n', "not readable as CSV"),
    ],
)
def test_a_file_that_is_not_a_master_data_csv_writes_nothing(
    hub: Hub, tmp_path: Path, body: bytes, message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_master_data(hub, csv_file(tmp_path, body))
    with pytest.raises(UnknownSku):
        show(hub, "A")
