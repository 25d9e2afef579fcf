"""Customs for an international order: what its parcel declares, built from the SKU master data.

`customs_for` is pure: the caller reads the master data (`channelhub.stock.master_data.master_data`) and the
shop's country (`[shop] country`) and decides what a missing field does. Once fulfilment routing exists, the
engine holds an international order with `MissingCustoms.reason` before it reaches the shipping platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from channelhub.model.customs import CustomsDeclaration, CustomsItem, DutiesPaidBy
from channelhub.model.money import Money
from channelhub.model.orders import Order
from channelhub.stock.master_data import CUSTOMS_FIELDS, SkuMasterData

DUTY = "duty"  # Fee.kind of a duty line (Shopify's duties; other channels report none)


@dataclass(frozen=True)
class MissingCustoms:
    """The SKUs of an international order that cannot be declared yet, each with its unknown fields, in the
    order's line order."""

    missing: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def reason(self) -> str:
        """A hold reason: "customs data missing for 'MUG-1' (hs_code, origin_country), 'TEE-M' (weight_grams)"."""
        parts = [f"'{sku}' ({', '.join(fields)})" for sku, fields in self.missing]
        return "customs data missing for " + ", ".join(parts)


def is_international(order: Order, shop_country: str | None) -> bool:
    """True when the order ships to a country other than the shop's. No shop country (international checks off)
    or no shipping address (nothing is shipped: a digital order, a pickup) is never international."""
    address = order.shipping_address
    return shop_country is not None and address is not None and address.country != shop_country.upper()


def customs_for(
    order: Order, master: Mapping[str, SkuMasterData], shop_country: str | None
) -> CustomsDeclaration | MissingCustoms | None:
    """The customs declaration of `order`: None when it does not leave `shop_country` (see `is_international`);
    MissingCustoms naming every SKU of a stock line that lacks a customs field (a SKU absent from `master`
    lacks them all); else one CustomsItem per stock line, its quantity from the line and its per-unit value,
    weight and tariff data from the master data.

    Duties are paid by the sender (DDP) when the channel charged the customer a duty line above zero: the shop
    collected them and must not let the carrier bill the recipient again; otherwise by the recipient (DAP)."""
    if not is_international(order, shop_country):
        return None
    missing: dict[str, tuple[str, ...]] = {}
    items: list[CustomsItem] = []
    for line in order.stock_lines:
        assert line.sku is not None  # a stock line has a SKU
        data = master.get(line.sku)
        fields = data.missing() if data is not None else CUSTOMS_FIELDS
        if fields:
            missing.setdefault(line.sku, fields)
        elif not missing:  # once a SKU is missing, no declaration is returned: stop building items
            assert data is not None
            items.append(_item(data, line.quantity))
    if missing:
        return MissingCustoms(tuple(missing.items()))
    return CustomsDeclaration(items=tuple(items), duties_paid_by=duties_paid_by(order))


def duties_paid_by(order: Order) -> DutiesPaidBy:
    """SENDER when the order carries a duty fee above zero, else RECIPIENT."""
    charged = any(fee.kind == DUTY and fee.amount.shop.amount > 0 for fee in order.fees)
    return DutiesPaidBy.SENDER if charged else DutiesPaidBy.RECIPIENT


def _item(data: SkuMasterData, quantity: int) -> CustomsItem:
    # Complete: customs_for checked missing() first, so no field below is None.
    assert data.declared_value is not None and data.declared_currency is not None
    return CustomsItem(
        sku=data.sku,
        description=data.customs_description,
        quantity=quantity,
        value=Money(amount=data.declared_value, currency=data.declared_currency),
        hs_code=data.hs_code,
        origin_country=data.origin_country,
        weight_grams=data.weight_grams,
    )
