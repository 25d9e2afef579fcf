"""customs_for: an order leaving the shop's country declares its stock lines from the SKU master data, or names
every SKU (and field) that stops it from being declared."""

from __future__ import annotations

from decimal import Decimal

import pytest

from channelhub.model.customs import CustomsDeclaration, CustomsItem, DutiesPaidBy
from channelhub.model.money import Money, MoneyBag
from channelhub.model.orders import Address, Fee, Order, OrderLine
from channelhub.stock.master_data import SkuMasterData
from channelhub.sync.customs import MissingCustoms, customs_for, is_international
from channelhub.testing.fakes import make_order

MUG = SkuMasterData(
    sku="MUG-1",
    hs_code="691200",
    origin_country="PT",
    customs_description="Ceramic mug",
    declared_value=Decimal("4.50"),
    declared_currency="EUR",
    weight_grams=350,
)
TEE = SkuMasterData(
    sku="TEE-M",
    hs_code="61091000",
    origin_country="BD",
    customs_description="Cotton T-shirt",
    declared_value=Decimal("3"),
    declared_currency="EUR",
    weight_grams=180,
)


def shipped_to(country: str | None, lines: tuple[tuple[str, int], ...] = (("MUG-1", 2), ("TEE-M", 1))) -> Order:
    order = make_order("1", lines)
    address = Address(name="A. Buyer", country=country) if country else None
    return order.model_copy(update={"shipping_address": address})


def test_an_order_within_the_shop_country_or_with_nothing_shipped_declares_nothing() -> None:
    assert customs_for(shipped_to("DE"), {}, "DE") is None
    assert customs_for(shipped_to("de"), {}, "de") is None
    assert customs_for(shipped_to(None), {}, "DE") is None
    assert customs_for(shipped_to("US"), {}, None) is None  # no [shop] country: international checks are off
    assert is_international(shipped_to("US"), "DE")


def test_an_international_order_declares_one_item_per_stock_line() -> None:
    declared = customs_for(shipped_to("US"), {"MUG-1": MUG, "TEE-M": TEE}, "DE")
    assert declared == CustomsDeclaration(
        items=(
            CustomsItem(
                sku="MUG-1",
                description="Ceramic mug",
                quantity=2,
                value=Money(amount=Decimal("4.50"), currency="EUR"),
                hs_code="691200",
                origin_country="PT",
                weight_grams=350,
            ),
            CustomsItem(
                sku="TEE-M",
                description="Cotton T-shirt",
                quantity=1,
                value=Money(amount=Decimal("3"), currency="EUR"),
                hs_code="61091000",
                origin_country="BD",
                weight_grams=180,
            ),
        ),
        duties_paid_by=DutiesPaidBy.RECIPIENT,
    )


def test_lines_without_stock_are_not_declared() -> None:
    order = shipped_to("US", (("MUG-1", 1),))
    gift_card = OrderLine(
        external_id="gc", sku="GIFT", requires_stock=False, quantity=1, unit_price=MoneyBag.of("5", "EUR")
    )
    order = order.model_copy(update={"lines": (*order.lines, gift_card)})
    declared = customs_for(order, {"MUG-1": MUG}, "DE")
    assert isinstance(declared, CustomsDeclaration)
    assert [item.sku for item in declared.items] == ["MUG-1"]


@pytest.mark.parametrize(("amount", "payer"), [("12.40", DutiesPaidBy.SENDER), ("0", DutiesPaidBy.RECIPIENT)])
def test_a_duty_line_the_customer_paid_makes_the_sender_pay_the_duties(amount: str, payer: DutiesPaidBy) -> None:
    duty = Fee(kind="duty", title="Import duties", amount=MoneyBag.of(amount, "EUR"))
    handling = Fee(kind="fee", title="Handling", amount=MoneyBag.of("2", "EUR"))
    order = shipped_to("US").model_copy(update={"fees": (handling, duty)})
    declared = customs_for(order, {"MUG-1": MUG, "TEE-M": TEE}, "DE")
    assert isinstance(declared, CustomsDeclaration)
    assert declared.duties_paid_by is payer


def test_an_ordinary_fee_is_not_a_duty() -> None:
    fee = Fee(kind="fee", title="Handling", amount=MoneyBag.of("2", "EUR"))
    declared = customs_for(shipped_to("US").model_copy(update={"fees": (fee,)}), {"MUG-1": MUG, "TEE-M": TEE}, "DE")
    assert isinstance(declared, CustomsDeclaration)
    assert declared.duties_paid_by is DutiesPaidBy.RECIPIENT


def test_every_sku_lacking_a_field_is_named_with_its_fields_once() -> None:
    partial_mug = SkuMasterData(
        sku="MUG-1",
        customs_description="Ceramic mug",
        declared_value=Decimal(1),
        declared_currency="EUR",
        weight_grams=350,
    )
    no_weight = TEE.model_copy(update={"weight_grams": None})
    order = shipped_to("US", (("MUG-1", 1), ("TEE-M", 1), ("MUG-1", 3), ("CAP", 1)))
    result = customs_for(order, {"MUG-1": partial_mug, "TEE-M": no_weight}, "DE")
    assert isinstance(result, MissingCustoms)
    assert result.missing == (
        ("MUG-1", ("hs_code", "origin_country")),
        ("TEE-M", ("weight_grams",)),
        ("CAP", ("hs_code", "origin_country", "customs_description", "declared_value", "weight_grams")),
    )
    assert result.reason == (
        "customs data missing for 'MUG-1' (hs_code, origin_country), 'TEE-M' (weight_grams), "
        "'CAP' (hs_code, origin_country, customs_description, declared_value, weight_grams)"
    )
