"""Outbound mapping: a canonical Order with its FulfillmentOrderRequest -> ShipStation's createorder body.

Sources (docs.shipstation.com, ShipStation V1 API): "Create/Update Order" (`POST /orders/createorder`; with an
`orderKey` ShipStation updates the order holding that key, else creates one under it; no partial updates: the
entire resource is sent every time; only awaiting_payment, awaiting_shipment and on_hold orders can be updated);
"Order" model (orderNumber, orderKey, orderDate, paymentDate, orderStatus, customerEmail, billTo, shipTo, items,
amountPaid, taxAmount, shippingAmount, customerNotes, internalNotes, internationalOptions, advancedOptions);
"Address" (name, company, street1-3, city, state, postalCode, country, phone, residential); "OrderItem"
(lineItemKey, sku, name (cannot be null), weight, quantity, unitPrice); "Weight" ({value, units}: pounds, ounces,
grams); "International Options" (contents: merchandise, documents, gift, returned_goods, sample; customsItems;
nonDelivery: return_to_sender, treat_as_abandoned); "Customs Item" (description, quantity, value "(in USD)",
harmonizedTariffCode, countryOfOrigin); "Advanced Options" (storeId, customField1-3, source).

Exact money: amounts stay Decimal up to the wire. `client.dumps_exact` writes the body itself and prints each Decimal
with its own digits as a JSON number (`19.90`, never a float's `19.899999...`), so ShipStation reads the figure
the channel reported. Weights are not money: grams are converted to the configured unit and rounded to 0.01 oz /
0.0001 lb (grams are sent as they are).

Customs values: the model's per-unit value is sent as `value` beside `quantity` (the docs say "the value of the
line item" without saying per unit or per line: UNCONFIRMED; per unit matches the quantity beside it).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from channelhub_connectors.shipstation.config import ShipStationSettings
from channelhub_connectors.shipstation.times import to_pacific

from channelhub.errors import Skippable
from channelhub.model.customs import CustomsDeclaration, DutiesPaidBy
from channelhub.model.orders import Address, Order, OrderLine
from channelhub.ports import FulfillmentOrderRequest

CONTENTS = frozenset({"merchandise", "documents", "gift", "returned_goods", "sample"})
NON_DELIVERY = frozenset({"return_to_sender", "treat_as_abandoned"})
OPEN_STATUSES = frozenset({"awaiting_payment", "awaiting_shipment", "on_hold"})  # the ones createorder may update
GRAMS_PER = {"grams": Decimal(1), "ounces": Decimal("28.349523125"), "pounds": Decimal("453.59237")}
WEIGHT_STEP = {"grams": Decimal(1), "ounces": Decimal("0.01"), "pounds": Decimal("0.0001")}
DUTIES = {DutiesPaidBy.SENDER: "DDP: duties paid by sender", DutiesPaidBy.RECIPIENT: "DAP: duties paid by recipient"}


def address(value: Address) -> dict[str, Any]:
    return {
        "name": value.name or None,
        "company": value.company or None,
        "street1": value.line1 or None,
        "street2": value.line2 or None,
        "street3": value.line3 or None,
        "city": value.city or None,
        "state": value.region or None,
        "postalCode": value.postal_code or None,
        "country": value.country,
        "phone": value.phone or None,
        "residential": None,  # not known to the hub: ShipStation decides
    }


def weight(grams: int | None, units: str) -> dict[str, Any] | None:
    if grams is None:
        return None
    converted = (Decimal(grams) / GRAMS_PER[units]).quantize(WEIGHT_STEP[units])
    return {"value": converted, "units": units}


def item(line: OrderLine, request: FulfillmentOrderRequest, units: str) -> dict[str, Any]:
    sku = line.sku or ""
    body: dict[str, Any] = {
        "lineItemKey": line.external_id,  # the hub's line id: shipments name their lines by it and by SKU
        "sku": sku,
        "name": line.display_name or sku,
        "quantity": line.quantity,
        "unitPrice": line.unit_price.shop.amount,
    }
    grams = request.weights_grams.get(sku)
    if grams is not None:
        body["weight"] = weight(grams, units)
    return body


def international(customs: CustomsDeclaration, settings: ShipStationSettings) -> dict[str, Any]:
    """`internationalOptions` for a declaration; Skippable naming what ShipStation could not be told."""
    if customs.contents not in CONTENTS:
        raise Skippable(f"customs contents {customs.contents!r} is not one ShipStation takes ({sorted(CONTENTS)})")
    if customs.non_delivery not in NON_DELIVERY:
        raise Skippable(f"non-delivery {customs.non_delivery!r} is not one ShipStation takes ({sorted(NON_DELIVERY)})")
    wrong = sorted({i.value.currency for i in customs.items} - {settings.customs_currency})
    if wrong:
        raise Skippable(
            f"customs values are in {', '.join(wrong)}; this ShipStation account declares in "
            f"{settings.customs_currency} (settings.customs_currency): not sent as the wrong amount"
        )
    return {
        "contents": customs.contents,
        "nonDelivery": customs.non_delivery,
        "customsItems": [
            {
                "description": i.description,
                "quantity": i.quantity,
                "value": i.value.amount,
                "harmonizedTariffCode": i.hs_code,
                "countryOfOrigin": i.origin_country,
            }
            for i in customs.items
        ],
    }


def _figures(order: Order) -> dict[str, Any]:
    totals = order.totals
    return {
        "amountPaid": totals.total.shop.amount,
        "taxAmount": totals.tax.shop.amount if totals.tax else None,
        "shippingAmount": totals.shipping.shop.amount if totals.shipping else None,
    }


def order_body(request: FulfillmentOrderRequest, settings: ShipStationSettings) -> dict[str, Any]:
    """The createorder body for `request` (awaiting_shipment: the hub only sends confirmed orders). Skippable
    when the order cannot be a ShipStation order: no shipping address, nothing to ship, customs it cannot carry."""
    order = request.order
    ship_to = order.shipping_address
    if ship_to is None:
        raise Skippable(f"order {order.number or order.external_id} has no shipping address: nothing to ship to")
    lines = order.stock_lines
    if not lines:
        raise Skippable(f"order {order.number or order.external_id} has no line that ships")
    advanced: dict[str, Any] = {"source": order.channel}
    if settings.store_id is not None:
        advanced["storeId"] = settings.store_id
    body: dict[str, Any] = {
        "orderNumber": order.number or order.external_id,
        "orderKey": request.order_key,
        "orderDate": to_pacific(order.placed_at),
        "paymentDate": to_pacific(order.paid_at) if order.paid_at else None,
        "orderStatus": "awaiting_shipment",
        "customerEmail": (order.customer.email or None) if order.customer else None,
        "billTo": address(order.billing_address or ship_to),
        "shipTo": address(ship_to),
        "items": [item(line, request, settings.weight_units) for line in lines],
        **_figures(order),
        "customerNotes": order.customer_note or None,
        "internalNotes": order.note or None,
        "advancedOptions": advanced,
    }
    if request.customs is not None:
        body["internationalOptions"] = international(request.customs, settings)
        if settings.duties_custom_field:
            advanced[settings.duties_custom_field] = DUTIES[request.customs.duties_paid_by]
    return body


def cancelled_body(existing: dict[str, Any]) -> dict[str, Any]:
    """The order as ShipStation holds it with orderStatus cancelled: createorder takes no partial update, so the
    whole resource goes back with only the status changed (read-only fields are ignored by ShipStation)."""
    return {**existing, "orderStatus": "cancelled"}
