"""SKU master data: validated on the way in, merged field by field over what is stored, never touching stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from channelhub.model.stock import StockLevel
from channelhub.stock import ledger
from channelhub.stock.master_data import MasterDataUpdate, SkuMasterData, master_data, upsert_master_data
from channelhub.store import Database
from channelhub.store.tables import SkuRow

FULL = {
    "sku": "MUG-1",
    "title": "Mug",
    "hs_code": "6912.00",
    "origin_country": "pt",
    "customs_description": "Ceramic mug",
    "declared_value": "4.50",
    "declared_currency": "eur",
    "weight_grams": 350,
}


def test_a_full_record_is_normalised_and_complete() -> None:
    data = SkuMasterData.model_validate(FULL)
    assert (data.hs_code, data.origin_country, data.declared_currency) == ("691200", "PT", "EUR")
    assert data.declared_value == Decimal("4.50")
    assert data.missing() == ()
    assert SkuMasterData(sku="X").missing() == (
        "hs_code",
        "origin_country",
        "customs_description",
        "declared_value",
        "weight_grams",
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("hs_code", "69120", "6 to 10 digits"),
        ("hs_code", "69120012345", "6 to 10 digits"),
        ("hs_code", "6912AB", "6 to 10 digits"),
        ("hs_code", "٦٩١٢٠٠", "6 to 10 digits"),  # Arabic-Indic digits pass str.isdigit, not customs
        ("origin_country", "XX", "unknown ISO 3166"),
        ("customs_description", "", "at least 1"),
        ("customs_description", "x" * 201, "at most 200"),
        ("customs_description", "mug\x00", "NUL"),
        ("declared_value", "-1", "must not be negative"),
        ("declared_value", "1e400", "too large"),
        ("declared_value", "NaN", "finite"),
        ("declared_value", 4.5, "not float"),
        ("declared_currency", "EUX", "unknown ISO 4217"),
        ("weight_grams", -1, "greater than or equal to 0"),
        ("weight_grams", 2**31, "less than or equal to"),
        ("sku", "x" * 201, "at most 200"),
    ],
)
def test_hostile_values_are_refused_with_the_field(field: str, value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SkuMasterData.model_validate({**FULL, field: value})


def test_a_value_needs_its_currency() -> None:
    with pytest.raises(ValidationError, match="go together"):
        SkuMasterData(sku="X", declared_value=Decimal(1))
    with pytest.raises(ValidationError, match="go together"):
        SkuMasterData(sku="X", declared_currency="EUR")


def test_upsert_creates_then_merges_only_the_given_fields_and_leaves_stock_alone(database: Database) -> None:
    with database.transaction() as s:
        ledger.declare_locations(s, [("main", "Main", 0)])
        ledger.set_on_hand(s, "TEE-M", "main", 7, reason="count")
        ledger.set_safety_stock(s, "TEE-M", 2)
    with database.transaction() as s:
        report = upsert_master_data(
            s,
            [
                MasterDataUpdate.model_validate(FULL),
                MasterDataUpdate(sku="TEE-M", hs_code="610910", weight_grams=180),
            ],
        )
        assert (report.created, report.updated, report.refused) == (["MUG-1"], ["TEE-M"], {})
    with database.transaction() as s:
        # A later update naming only the weight keeps the HS code; the title was never given, so it stays.
        upsert_master_data(s, [MasterDataUpdate(sku="TEE-M", weight_grams=200)])
    with database.transaction() as s:
        found = master_data(s, ["MUG-1", "TEE-M", "NOPE"])
        assert set(found) == {"MUG-1", "TEE-M"}
        assert found["MUG-1"] == SkuMasterData.model_validate(FULL)
        assert (found["TEE-M"].hs_code, found["TEE-M"].weight_grams) == ("610910", 200)
        assert found["TEE-M"].missing() == ("origin_country", "customs_description", "declared_value")
        assert ledger.levels(s, "TEE-M") == [StockLevel(sku="TEE-M", location="main", on_hand=7, reserved=0)]
        tee = s.get(SkuRow, "TEE-M")
        assert tee is not None and tee.safety_stock == 2
        assert ledger.levels(s, "MUG-1") == []  # a new SKU has no stock until a count gives it some


def test_a_merge_that_breaks_a_rule_refuses_that_row_only(database: Database) -> None:
    with database.transaction() as s:
        report = upsert_master_data(
            s,
            [
                MasterDataUpdate(sku="A", declared_value=Decimal(1), declared_currency="EUR"),
                MasterDataUpdate(sku="B", hs_code="610910"),
            ],
        )
        assert report.refused == {}
    with database.transaction() as s:
        # The currency alone may change on a SKU that has a value; a value alone on one that has none may not.
        report = upsert_master_data(
            s,
            [MasterDataUpdate(sku="B", declared_value=Decimal(2)), MasterDataUpdate(sku="A", declared_currency="USD")],
        )
        assert report.updated == ["A"]
        assert list(report.refused) == [0] and "go together" in report.refused[0]
    with database.transaction() as s:
        found = master_data(s, ["A", "B"])
        assert (found["A"].declared_value, found["A"].declared_currency) == (Decimal(1), "USD")
        assert found["B"].declared_value is None


def test_the_later_row_of_a_sku_given_twice_wins(database: Database) -> None:
    with database.transaction() as s:
        upsert_master_data(s, [MasterDataUpdate(sku="A", weight_grams=1), MasterDataUpdate(sku="A", weight_grams=2)])
    with database.transaction() as s:
        assert master_data(s, ["A"])["A"].weight_grams == 2
