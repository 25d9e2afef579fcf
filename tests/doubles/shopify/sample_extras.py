"""What a real Shopify order carries besides plain product lines, added to a sample order in each shape's own
field names (`samples.graphql_order(extras=True)`, `samples.rest_order(extras=True)`): a custom item (no SKU, no
product), a tip, a gift card, a shipping protection line that needs no shipping, a duty on the first line,
Shopify's own fulfilments (one of a unit of the first line, shipped; one cancelled), the order's phone (the
customer has none), a note and tags. The figures are the sale's in `samples` plus these:

    lines 67.00 (35 + 4 custom + 2 tip + 25 gift card + 1 protection) - discount 5.00 + shipping 10.00
    + duties 1.20 + tax 5.85 = 79.05 CAD     (presentment: 50.25 - 3.75 + 7.50 + 0.90 + 4.39 = 59.29 USD)
"""

from __future__ import annotations

from typing import Any


def gbag(shop: str, pres: str) -> dict[str, Any]:
    return {
        "shopMoney": {"amount": shop, "currencyCode": "CAD"},
        "presentmentMoney": {"amount": pres, "currencyCode": "USD"},
    }


def rbag(shop: str, pres: str) -> dict[str, Any]:
    return {
        "shop_money": {"amount": shop, "currency_code": "CAD"},
        "presentment_money": {"amount": pres, "currency_code": "USD"},
    }


# (suffix, sku, title, gift card, requires shipping, variant, product, price shop, price presentment)
EXTRA_LINES = [
    ("3", None, "Engraving plate", False, True, None, None, "4.00", "3.00"),
    ("4", None, "Tip", False, False, None, None, "2.00", "1.50"),
    ("5", "GIFT-25", "Gift card", True, False, 73, 63, "25.00", "18.75"),
    ("6", "PROTECT-1", "Shipping protection", False, False, 74, 64, "1.00", "0.75"),
]
FIGURES = {  # field -> (shop, presentment) once the extras are in
    "lines": ("67.00", "50.25"),
    "subtotal": ("62.00", "46.50"),  # Shopify's own subtotal: after discounts
    "total": ("79.05", "59.29"),
    "duties": ("1.20", "0.90"),
    "tip": ("2.00", "1.50"),
}


def _oid(order: dict[str, Any]) -> str:
    return str(order["id"]).rsplit("/", 1)[-1]


def graphql_extras(order: dict[str, Any]) -> dict[str, Any]:
    oid = _oid(order)
    for suffix, sku, title, gift, ships, variant, product, shop, pres in EXTRA_LINES:
        order["lineItems"]["nodes"].append(
            {
                "id": f"gid://shopify/LineItem/{oid}{suffix}",
                "sku": sku,
                "title": title,
                "variantTitle": None,
                "quantity": 1,
                "isGiftCard": gift,
                "requiresShipping": ships,
                "variant": None if variant is None else {"id": f"gid://shopify/ProductVariant/{variant}"},
                "product": None if product is None else {"id": f"gid://shopify/Product/{product}"},
                "originalUnitPriceSet": gbag(shop, pres),
                "originalTotalSet": gbag(shop, pres),
                "taxLines": [],
                "discountAllocations": [],
                "duties": [],
            }
        )
    duty = {"id": "gid://shopify/Duty/931", "harmonizedSystemCode": "950300", "price": gbag(*FIGURES["duties"])}
    order["lineItems"]["nodes"][0]["duties"] = [{**duty, "taxLines": []}]
    order.update(
        subtotalPriceSet=gbag(*FIGURES["subtotal"]),
        totalPriceSet=gbag(*FIGURES["total"]),
        totalTipReceivedSet=gbag(*FIGURES["tip"]),
        originalTotalDutiesSet=gbag(*FIGURES["duties"]),
        note="Leave it at the back door",
        tags=["gift", "vip"],
        phone="+14165550199",
        fulfillments=[
            _graphql_fulfilment(oid, "951", "SUCCESS", "1ZSHIPPED", 1),
            _graphql_fulfilment(oid, "952", "CANCELLED", "1ZVOID", 2),
        ],
    )
    order["customer"]["phone"] = None
    return order


def _graphql_fulfilment(oid: str, fid: str, status: str, number: str, quantity: int) -> dict[str, Any]:
    return {
        "id": f"gid://shopify/Fulfillment/{fid}",
        "status": status,
        "createdAt": "2026-03-02T08:00:00Z",
        "trackingInfo": [{"company": "UPS", "number": number, "url": f"https://ups.example/{number}"}],
        "fulfillmentLineItems": {
            "nodes": [{"quantity": quantity, "lineItem": {"id": f"gid://shopify/LineItem/{oid}1"}}]
        },
    }


def rest_extras(order: dict[str, Any]) -> dict[str, Any]:
    oid = _oid(order)
    for suffix, sku, title, gift, ships, variant, product, shop, pres in EXTRA_LINES:
        line: dict[str, Any] = {
            "id": int(f"{oid}{suffix}"),
            "admin_graphql_api_id": f"gid://shopify/LineItem/{oid}{suffix}",
            "sku": sku,
            "title": title,
            "name": title,
            "variant_title": None,
            "quantity": 1,
            "gift_card": gift,
            "requires_shipping": ships,
            "variant_id": variant,
            "product_id": product,
            "product_exists": product is not None,
            "price": shop,
            "price_set": rbag(shop, pres),
            "tax_lines": [],
            "discount_allocations": [],
            "duties": [],
        }
        if title == "Tip":
            line["tip_payment_gateway"] = "shopify_payments"  # present only on tips
        order["line_items"].append(line)
    duty = {"id": "931", "harmonized_system_code": "950300", "country_code_of_origin": "CN", "tax_lines": []}
    order["line_items"][0]["duties"] = [
        {**duty, **rbag(*FIGURES["duties"]), "admin_graphql_api_id": "gid://shopify/Duty/931"}
    ]
    order.update(
        subtotal_price=FIGURES["subtotal"][0],
        subtotal_price_set=rbag(*FIGURES["subtotal"]),
        total_line_items_price=FIGURES["lines"][0],
        total_line_items_price_set=rbag(*FIGURES["lines"]),
        total_price=FIGURES["total"][0],
        total_price_set=rbag(*FIGURES["total"]),
        total_tip_received=FIGURES["tip"][0],
        original_total_duties_set=rbag(*FIGURES["duties"]),
        current_total_duties_set=rbag(*FIGURES["duties"]),
        note="Leave it at the back door",
        tags="gift, vip",
        phone="+14165550199",
        fulfillments=[
            _rest_fulfilment(oid, 951, "success", "1ZSHIPPED", 1),
            _rest_fulfilment(oid, 952, "cancelled", "1ZVOID", 2),
        ],
    )
    order["customer"]["phone"] = None
    return order


def _rest_fulfilment(oid: str, fid: int, status: str, number: str, quantity: int) -> dict[str, Any]:
    return {
        "id": fid,
        "admin_graphql_api_id": f"gid://shopify/Fulfillment/{fid}",
        "order_id": int(oid),
        "status": status,
        "created_at": "2026-03-02T03:00:00-05:00",
        "service": "manual",
        "tracking_company": "UPS",
        "tracking_number": number,
        "tracking_numbers": [number],
        "tracking_url": f"https://ups.example/{number}",
        "tracking_urls": [f"https://ups.example/{number}"],
        "line_items": [{"id": int(f"{oid}1"), "sku": f"SKU-A{int(oid) - 820000}", "quantity": quantity}],
    }
