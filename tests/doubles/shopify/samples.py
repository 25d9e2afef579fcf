"""Sample orders in Shopify's two documented shapes, for tests, the fake shop and cassette recording.

`graphql_order` writes an Admin GraphQL Order node, `rest_order` the REST/webhook order; each is spelled out in
its own field names (not derived from the other), describing the same sale: shop money in CAD, presentment money
in USD, two lines (one with a discount code allocation and a tax line), a taxed shipping line, and optionally a
refund of one unit of the first line. `extras=True` adds what a real order carries besides (`sample_extras`):
lines without a SKU (a custom item, a tip), a gift card, a shipping protection line, a duty, Shopify's own
fulfilments (one shipped, one cancelled), a note, tags and the payment gateway.
"""

from __future__ import annotations

from typing import Any

from doubles.shopify import sample_extras

_gbag = sample_extras.gbag
_rbag = sample_extras.rbag


def graphql_order(
    n: int,
    *,
    updated_at: str = "2026-03-01T10:00:00Z",
    financial: str = "PAID",
    fulfillment: str = "UNFULFILLED",
    refund: bool = False,
    cancelled_at: str | None = None,
    sku_a: str | None = None,
    extras: bool = False,
) -> dict[str, Any]:
    oid = 820000 + n
    address = {
        "name": "Ada Lovelace",
        "firstName": "Ada",
        "lastName": "Lovelace",
        "company": "Engines Ltd",
        "address1": "12 Analytical Way",
        "address2": "Unit 3",
        "city": "Toronto",
        "provinceCode": "ON",
        "zip": "M5V 2T6",
        "countryCodeV2": "CA",
        "phone": "+14165550100",
    }
    tax = {"title": "HST", "rate": 0.13, "priceSet": _gbag("2.60", "1.95")}
    order = {
        "id": f"gid://shopify/Order/{oid}",
        "name": f"#{1000 + n}",
        "createdAt": "2026-03-01T09:00:00Z",
        "updatedAt": updated_at,
        "cancelledAt": cancelled_at,
        "cancelReason": "CUSTOMER" if cancelled_at else None,
        "displayFinancialStatus": financial,
        "displayFulfillmentStatus": fulfillment,
        "currencyCode": "CAD",
        "presentmentCurrencyCode": "USD",
        "email": "ada@example.com",
        "customer": {
            "id": "gid://shopify/Customer/555",
            "email": "ada@example.com",
            "firstName": "Ada",
            "lastName": "Lovelace",
            "phone": "+14165550100",
        },
        "shippingAddress": address,
        "billingAddress": address,
        "subtotalPriceSet": _gbag("30.00", "22.50"),  # Shopify's subtotal is after discounts
        "totalShippingPriceSet": _gbag("10.00", "7.50"),
        "totalTaxSet": _gbag("5.85", "4.39"),
        "totalDiscountsSet": _gbag("5.00", "3.75"),
        "totalPriceSet": _gbag("45.85", "34.39"),
        "taxLines": [{"title": "HST", "rate": 0.13, "priceSet": _gbag("5.85", "4.39")}],
        "taxesIncluded": False,
        "dutiesIncluded": False,
        "totalOutstandingSet": _gbag("0.00", "0.00"),
        "totalTipReceivedSet": _gbag("0.00", "0.00"),
        "originalTotalDutiesSet": None,
        "originalTotalAdditionalFeesSet": None,
        "additionalFees": [],
        "note": None,
        "tags": [],
        "phone": None,
        "paymentGatewayNames": ["shopify_payments"],
        "fulfillments": [],
        "discountApplications": {"nodes": [{"index": 0, "__typename": "DiscountCodeApplication", "code": "SAVE5"}]},
        "lineItems": {
            "nodes": [
                {
                    "id": f"gid://shopify/LineItem/{oid}1",
                    "sku": sku_a if sku_a is not None else f"SKU-A{n}",
                    "title": "Widget",
                    "variantTitle": "blue",
                    "quantity": 2,
                    "isGiftCard": False,
                    "requiresShipping": True,
                    "variant": {"id": "gid://shopify/ProductVariant/71"},
                    "product": {"id": "gid://shopify/Product/61"},
                    "originalUnitPriceSet": _gbag("10.00", "7.50"),
                    "originalTotalSet": _gbag("20.00", "15.00"),
                    "duties": [],
                    "taxLines": [tax],
                    "discountAllocations": [
                        {
                            "allocatedAmountSet": _gbag("5.00", "3.75"),
                            "discountApplication": {"index": 0, "__typename": "DiscountCodeApplication"},
                        }
                    ],
                },
                {
                    "id": f"gid://shopify/LineItem/{oid}2",
                    "sku": "SKU-B",
                    "title": "Gadget",
                    "variantTitle": None,
                    "quantity": 1,
                    "isGiftCard": False,
                    "requiresShipping": True,
                    "variant": {"id": "gid://shopify/ProductVariant/72"},
                    "product": {"id": "gid://shopify/Product/62"},
                    "originalUnitPriceSet": _gbag("15.00", "11.25"),
                    "originalTotalSet": _gbag("15.00", "11.25"),
                    "duties": [],
                    "taxLines": [],
                    "discountAllocations": [],
                },
            ]
        },
        "shippingLines": {
            "nodes": [
                {
                    "id": f"gid://shopify/ShippingLine/{oid}9",
                    "title": "Standard",
                    "code": "STD",
                    "originalPriceSet": _gbag("10.00", "7.50"),
                    "taxLines": [{"title": "HST", "rate": 0.13, "priceSet": _gbag("1.30", "0.98")}],
                    "discountAllocations": [],
                }
            ]
        },
        "refunds": [
            {
                "id": f"gid://shopify/Refund/{oid}7",
                "createdAt": "2026-03-02T12:00:00Z",
                "note": "damaged",
                "totalRefundedSet": _gbag("10.00", "7.50"),
                "refundLineItems": {"nodes": [{"quantity": 1, "lineItem": {"id": f"gid://shopify/LineItem/{oid}1"}}]},
            }
        ]
        if refund
        else [],
    }
    return sample_extras.graphql_extras(order) if extras else order


def rest_order(
    n: int,
    *,
    updated_at: str = "2026-03-01T05:00:00-05:00",
    financial: str = "paid",
    fulfillment: str | None = None,
    refund: bool = False,
    cancelled_at: str | None = None,
    extras: bool = False,
) -> dict[str, Any]:
    oid = 820000 + n
    address = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "name": "Ada Lovelace",
        "company": "Engines Ltd",
        "address1": "12 Analytical Way",
        "address2": "Unit 3",
        "city": "Toronto",
        "province": "Ontario",
        "province_code": "ON",
        "zip": "M5V 2T6",
        "country": "Canada",
        "country_code": "CA",
        "phone": "+14165550100",
        "latitude": 43.6,
        "longitude": -79.4,
    }
    tax = {"title": "HST", "rate": 0.13, "price": "2.60", "price_set": _rbag("2.60", "1.95"), "channel_liable": None}
    order = {
        "id": oid,
        "admin_graphql_api_id": f"gid://shopify/Order/{oid}",
        "name": f"#{1000 + n}",
        "order_number": 1000 + n,
        "created_at": "2026-03-01T04:00:00-05:00",
        "updated_at": updated_at,
        "cancelled_at": cancelled_at,
        "cancel_reason": "customer" if cancelled_at else None,
        "financial_status": financial,
        "fulfillment_status": fulfillment,
        "currency": "CAD",
        "presentment_currency": "USD",
        "email": "ada@example.com",
        "customer": {
            "id": 555,
            "email": "ada@example.com",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "phone": "+14165550100",
            "admin_graphql_api_id": "gid://shopify/Customer/555",
        },
        "shipping_address": address,
        "billing_address": address,
        "subtotal_price": "30.00",  # after discounts, as Shopify reports it
        "subtotal_price_set": _rbag("30.00", "22.50"),
        "total_line_items_price": "35.00",
        "total_line_items_price_set": _rbag("35.00", "26.25"),
        "total_shipping_price_set": _rbag("10.00", "7.50"),
        "total_tax": "5.85",
        "total_tax_set": _rbag("5.85", "4.39"),
        "total_discounts": "5.00",
        "total_discounts_set": _rbag("5.00", "3.75"),
        "total_price": "45.85",
        "total_price_set": _rbag("45.85", "34.39"),
        "tax_lines": [{"title": "HST", "rate": 0.13, "price": "5.85", "price_set": _rbag("5.85", "4.39")}],
        "taxes_included": False,
        "duties_included": False,
        "total_outstanding": "0.00",
        "total_tip_received": "0.00",
        "original_total_duties_set": None,
        "current_total_duties_set": None,
        "original_total_additional_fees_set": None,
        "current_total_additional_fees_set": None,
        "note": None,
        "tags": "",
        "phone": None,
        "payment_gateway_names": ["shopify_payments"],
        "fulfillments": [],
        "discount_codes": [{"code": "SAVE5", "amount": "5.00", "type": "fixed_amount"}],
        "discount_applications": [
            {
                "type": "discount_code",
                "code": "SAVE5",
                "value": "5.0",
                "value_type": "fixed_amount",
                "allocation_method": "across",
                "target_selection": "all",
                "target_type": "line_item",
            }
        ],
        "line_items": [
            {
                "id": int(f"{oid}1"),
                "admin_graphql_api_id": f"gid://shopify/LineItem/{oid}1",
                "sku": f"SKU-A{n}",
                "title": "Widget",
                "name": "Widget - blue",
                "variant_title": "blue",
                "quantity": 2,
                "gift_card": False,
                "requires_shipping": True,
                "duties": [],
                "variant_id": 71,
                "product_id": 61,
                "price": "10.00",
                "price_set": _rbag("10.00", "7.50"),
                "tax_lines": [tax],
                "discount_allocations": [
                    {"amount": "5.00", "amount_set": _rbag("5.00", "3.75"), "discount_application_index": 0}
                ],
            },
            {
                "id": int(f"{oid}2"),
                "admin_graphql_api_id": f"gid://shopify/LineItem/{oid}2",
                "sku": "SKU-B",
                "title": "Gadget",
                "name": "Gadget",
                "variant_title": None,
                "quantity": 1,
                "gift_card": False,
                "requires_shipping": True,
                "duties": [],
                "variant_id": 72,
                "product_id": 62,
                "price": "15.00",
                "price_set": _rbag("15.00", "11.25"),
                "tax_lines": [],
                "discount_allocations": [],
            },
        ],
        "shipping_lines": [
            {
                "id": int(f"{oid}9"),
                "title": "Standard",
                "code": "STD",
                "price": "10.00",
                "price_set": _rbag("10.00", "7.50"),
                "tax_lines": [{"title": "HST", "rate": 0.13, "price": "1.30", "price_set": _rbag("1.30", "0.98")}],
                "discount_allocations": [],
            }
        ],
        "refunds": [
            {
                "id": int(f"{oid}7"),
                "order_id": oid,
                "created_at": "2026-03-02T07:00:00-05:00",
                "note": "damaged",
                "refund_line_items": [
                    {
                        "id": 1,
                        "line_item_id": int(f"{oid}1"),
                        "quantity": 1,
                        "subtotal_set": _rbag("10.00", "7.50"),
                        "total_tax_set": _rbag("0.00", "0.00"),
                    }
                ],
                "transactions": [{"id": 9, "kind": "refund", "status": "success", "amount": "7.50", "currency": "USD"}],
                "order_adjustments": [],
            }
        ]
        if refund
        else [],
    }
    return sample_extras.rest_extras(order) if extras else order
