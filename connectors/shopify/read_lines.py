"""Reading the line items of both Shopify shapes: what each line sells (`LineKind`), whether it needs stock, its
prices, taxes, discounts and duties.

What a line is, first match wins (every rule uses fields both shapes carry):
- `isGiftCard` / `gift_card` true: GIFT_CARD, no stock (a gift card is issued, not picked);
- a tip: REST marks it (`tip_payment_gateway`, present only on tips); GraphQL has no flag, so a line with no SKU,
  no product and no variant that needs no shipping is a tip when the order reports a tip received
  (`totalTipReceivedSet` / `total_tip_received`) and the line is titled "Tip" or is the only such line and its
  total is the tip received. TIP, no stock;
- no SKU, no product and no variant: a custom item typed in at Shopify. CUSTOM, stock needed unless it needs no
  shipping (the core holds the order until the SKU map names it: `title:<title>`);
- `requiresShipping` / `requires_shipping` false: SERVICE (shipping protection, a digital good), no stock;
- otherwise PRODUCT.
The SKU itself is the channel's here (None when Shopify gives none); the mapper applies the SKU map (`hub_sku`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from channelhub_connectors.shopify.shapes import Keys, Reader, allocations, numeric_id, sum_bags, taxes, text, times

from channelhub.model.money import MoneyBag
from channelhub.model.orders import Fee, LineKind, OrderLine

TIP_TITLES = {"tip", "tips"}


def read_line(r: Reader, data: Mapping[str, Any], i: int, keys: Keys, allocs: dict[int, list[MoneyBag]]) -> OrderLine:
    k, rest, path = keys.k, keys.rest, f"{keys.k('lineItems', 'line_items')}[{i}]"
    line_id = numeric_id(r.need(data, "id", f"{path}."))
    quantity = int(r.need(data, "quantity", f"{path}."))
    if rest:
        variant, product = data.get("variant_id"), data.get("product_id")
    else:
        variant, product = (data.get("variant") or {}).get("id"), (data.get("product") or {}).get("id")
    mine = allocations(
        r, data.get(k("discountAllocations", "discount_allocations")), f"{path}.discountAllocations", keys, allocs
    )
    unit = r.bag(data.get(k("originalUnitPriceSet", "price_set")), f"{path}.unitPrice", rest=rest)
    subtotal = (
        times(unit, quantity) if rest else r.bag(data.get("originalTotalSet"), f"{path}.originalTotalSet", rest=False)
    )
    sku = text(data.get("sku")).strip() or None
    kind, requires_stock = _kind(data, keys, sku=sku, tied=variant is not None or product is not None)
    return OrderLine(
        external_id=line_id,
        sku=sku,
        requires_stock=requires_stock,
        kind=kind,
        title=text(data.get("title")),
        variant_title=text(data.get(k("variantTitle", "variant_title"))),
        quantity=quantity,
        unit_price=unit,
        subtotal=subtotal,
        total_discount=sum_bags(mine) if mine else None,
        taxes=tuple(taxes(r, data.get(k("taxLines", "tax_lines")), f"{path}.taxLines", keys)),
        variant_id="" if variant is None else numeric_id(variant),
        product_id="" if product is None else numeric_id(product),
    )


def _kind(data: Mapping[str, Any], keys: Keys, *, sku: str | None, tied: bool) -> tuple[LineKind, bool]:
    """(kind, requires_stock) by the module docstring's rules; the GraphQL tip rule runs later (`mark_tips`)."""
    ships = data.get(keys.k("requiresShipping", "requires_shipping"))
    ships = True if ships is None else bool(ships)
    if data.get(keys.k("isGiftCard", "gift_card")):
        return LineKind.GIFT_CARD, False
    if keys.rest and "tip_payment_gateway" in data:
        return LineKind.TIP, False
    if sku is None and not tied:
        return LineKind.CUSTOM, ships
    if not ships:
        return LineKind.SERVICE, False
    return LineKind.PRODUCT, True


def mark_tips(lines: list[OrderLine], tip_received: MoneyBag | None) -> list[OrderLine]:
    """Lines that are the order's tip (see the module docstring) become TIP lines that need no stock."""
    if tip_received is None or tip_received.shop.amount <= 0 or any(line.kind == LineKind.TIP for line in lines):
        return lines
    loose = [
        n
        for n, line in enumerate(lines)
        if line.kind in {LineKind.CUSTOM, LineKind.SERVICE}
        and not line.requires_stock
        and line.sku is None
        and not (line.variant_id or line.product_id)
    ]
    tips = [n for n in loose if lines[n].title.strip().lower() in TIP_TITLES]
    if not tips and len(loose) == 1:
        only = lines[loose[0]]
        if only.subtotal is not None and only.subtotal.shop == tip_received.shop:
            tips = loose
    out = list(lines)
    for n in tips:
        out[n] = out[n].model_copy(update={"kind": LineKind.TIP, "requires_stock": False})
    return out


def read_duties(r: Reader, data: Mapping[str, Any], i: int, keys: Keys) -> list[Fee]:
    """The duties Shopify charged on one line, as fees of kind "duty". GraphQL `LineItem.duties {id price taxLines}`;
    REST `line_items[].duties[]` (its money as `price_set`, or as shop_money/presentment_money on the duty itself:
    both are read, the REST shape is not confirmed)."""
    path = f"{keys.k('lineItems', 'line_items')}[{i}].duties"
    out = []
    for n, duty in enumerate(data.get("duties") or []):
        if keys.rest:
            money = duty.get("price_set") if isinstance(duty.get("price_set"), Mapping) else duty
        else:
            money = duty.get("price")
        amount = r.bag(money, f"{path}[{n}].price", rest=keys.rest)
        code = text(duty.get(keys.k("harmonizedSystemCode", "harmonized_system_code")))
        title = f"Duty on {text(data.get('title')) or 'line ' + numeric_id(data.get('id'))}"
        out.append(
            Fee(
                external_id=numeric_id(r.need(duty, "id", f"{path}[{n}].")),
                kind="duty",
                title=f"{title} (HS {code})" if code else title,
                amount=amount,
                taxes=tuple(taxes(r, duty.get(keys.k("taxLines", "tax_lines")), f"{path}[{n}].taxLines", keys)),
            )
        )
    return out


def tip_received(r: Reader, data: Mapping[str, Any], keys: Keys, currency: str) -> MoneyBag | None:
    """GraphQL `totalTipReceivedSet`; REST `total_tip_received`, a plain amount in the shop currency."""
    if not keys.rest:
        value = data.get("totalTipReceivedSet")
        return None if value is None else r.bag(value, "totalTipReceivedSet", rest=False)
    plain = data.get("total_tip_received")
    if plain in (None, ""):
        return None
    return MoneyBag(shop=r.money(Decimal(str(plain)), currency, "total_tip_received"))
