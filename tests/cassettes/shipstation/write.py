"""Writes the ShipStation cassettes by hand, from the shapes docs.shipstation.com documents for API v1 (List
Shipments and its Shipment fields, List Orders, Create/Update Order, the Webhook model, the rate-limit headers
and the 429 of "Requirements"). They are authored, not recorded: no ShipStation account was called, and no
credential is in them (vcrpy does not need the Authorization header to match). Request bodies are written out as
the exact bytes the connector must send, so a replay checks the wire format (money as JSON numbers with their
own digits, Pacific times without an offset).

    .venv/bin/python tests/cassettes/shipstation/write.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
HOST = "https://ssapi.shipstation.com"


def rate(remaining: int, reset: int) -> dict[str, list[str]]:
    return {
        "Content-Type": ["application/json; charset=utf-8"],
        "X-Rate-Limit-Limit": ["40"],
        "X-Rate-Limit-Remaining": [str(remaining)],
        "X-Rate-Limit-Reset": [str(reset)],
    }


def interaction(
    method: str, uri: str, status: int, answer: Any, *, body: str | None = None, remaining: int = 39, reset: int = 59
) -> dict[str, Any]:
    messages = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 429: "Too Many Requests"}
    headers = rate(remaining, reset) if status != 401 else {"Content-Type": ["application/json; charset=utf-8"]}
    return {
        "request": {"body": body if body is not None else "", "headers": {}, "method": method, "uri": uri},
        "response": {
            "status": {"code": status, "message": messages[status]},
            "headers": headers,
            "body": {"string": json.dumps(answer) if not isinstance(answer, str) else answer},
        },
    }


def shipment(sid: int, key: str, number: str, tracking: str, items: list[tuple[str, str, int]], **extra: Any) -> dict:
    """A Shipment as List Shipments documents it (includeShipmentItems=true)."""
    return {
        "shipmentId": sid, "orderId": sid - 1000, "orderKey": key, "userId": "c9f06d74-95de-4ef2-9d1b-3c1a1c5c0f4c",
        "customerEmail": "ada@example.test", "orderNumber": number, "createDate": "2024-06-01T09:12:33.6270000",
        "shipDate": "2024-06-01", "shipmentCost": 7.35, "insuranceCost": 0, "trackingNumber": tracking,
        "isReturnLabel": False, "batchNumber": None, "carrierCode": "usps", "serviceCode": "usps_priority_mail",
        "packageCode": "package", "confirmation": "delivery", "warehouseId": 34567, "voided": False,
        "voidDate": None, "marketplaceNotified": False, "notifyErrorMessage": None,
        "shipTo": {"name": "Ada Lovelace", "company": None, "street1": "1 Analytical Row", "street2": "Flat 2",
                   "street3": None, "city": "Portland", "state": "OR", "postalCode": "97201", "country": "US",
                   "phone": "+1 503 555 0100", "residential": None},
        "weight": {"value": 530, "units": "grams", "WeightUnits": 2},
        "dimensions": None, "insuranceOptions": None, "advancedOptions": None, "labelData": None, "formData": None,
        "shipmentItems": [
            {"orderItemId": sid * 10 + n, "lineItemKey": line, "sku": sku, "name": sku, "imageUrl": None,
             "weight": None, "quantity": qty, "unitPrice": 19.9, "taxAmount": None, "shippingAmount": None,
             "warehouseLocation": None, "options": [], "productId": None, "fulfillmentSku": None,
             "adjustment": False, "upc": None}
            for n, (line, sku, qty) in enumerate(items, 1)
        ],
        **extra,
    }  # fmt: skip


def listing(key: str, items: list[Any], page: int, pages: int, total: int) -> dict[str, Any]:
    return {key: items, "total": total, "page": page, "pages": pages}


SHIPMENTS_Q = "includeShipmentItems=true&pageSize=2&sortDir=ASC"
PAGING = [
    interaction("GET", f"{HOST}/shipments?{SHIPMENTS_Q}&shipDateStart=2024-06-01&sortBy=ShipDate&page=1", 200,
                listing("shipments", [shipment(33974374, "shop:1001", "#1001", "9400111899223",
                                               [("1001-1", "TEE-M", 2), ("1001-2", "MUG", 1)]),
                                      shipment(33974375, "shop:1002", "#1002", "9400111899224",
                                               [("1002-1", "TEE-M", 1)])], 1, 2, 3), remaining=39),
    interaction("GET", f"{HOST}/shipments?{SHIPMENTS_Q}&shipDateStart=2024-06-01&sortBy=ShipDate&page=2", 200,
                listing("shipments", [shipment(33974376, "shop:1003", "#1003", "9400111899225",
                                               [("1003-1", "MUG", 4)])], 2, 2, 3), remaining=38),
    interaction("GET", f"{HOST}/shipments?{SHIPMENTS_Q}&voidDateStart=2024-06-01&page=1", 200,
                listing("shipments", [shipment(33970001, "shop:0990", "#990", "9400111899001",
                                               [("990-1", "TEE-M", 1)], voided=True, shipDate="2024-05-28",
                                               voidDate="2024-06-01T08:00:00.0000000")], 1, 1, 1), remaining=37),
]  # fmt: skip

CREATE_BODY = (
    '{"orderNumber":"#1001","orderKey":"shop:1001","orderDate":"2024-05-31T15:30:00",'
    '"paymentDate":"2024-05-31T15:30:00","orderStatus":"awaiting_shipment","customerEmail":"ada@example.test",'
    '"billTo":{"name":"Ada Lovelace","company":null,"street1":"1 Analytical Row","street2":"Flat 2",'
    '"street3":null,"city":"Portland","state":"OR","postalCode":"97201","country":"US",'
    '"phone":"+1 503 555 0100","residential":null},'
    '"shipTo":{"name":"Ada Lovelace","company":null,"street1":"1 Analytical Row","street2":"Flat 2",'
    '"street3":null,"city":"Portland","state":"OR","postalCode":"97201","country":"US",'
    '"phone":"+1 503 555 0100","residential":null},'
    '"items":[{"lineItemKey":"1001-1","sku":"TEE-M","name":"Tee - M","quantity":2,"unitPrice":19.90,'
    '"weight":{"value":180,"units":"grams"}},{"lineItemKey":"1001-2","sku":"MUG","name":"Mug","quantity":1,'
    '"unitPrice":0.10,"weight":{"value":350,"units":"grams"}}],"amountPaid":48.04,"taxAmount":3.19,'
    '"shippingAmount":4.95,"customerNotes":"leave at the door","internalNotes":null,'
    '"advancedOptions":{"source":"shop"}}'
)


def stored(status: str, modified: str) -> dict[str, Any]:
    """The order ShipStation answers createorder (and List Orders) with: the body plus its own fields."""
    order = json.loads(CREATE_BODY)
    order.update(orderId=43945660, orderStatus=status, createDate="2024-06-01T12:00:01.1230000")
    order.update(modifyDate=modified, orderTotal=48.04, customerId=37701499, userId=None, externallyFulfilled=False)
    for n, item in enumerate(order["items"], 1):
        item.update(orderItemId=128836910 + n, createDate=order["createDate"], modifyDate=modified)
    return order


ORDERS_Q = f"{HOST}/orders?orderNumber=%231001&pageSize=100&page=1"
CREATEORDER = [
    interaction("GET", ORDERS_Q, 200, listing("orders", [], 1, 0, 0), remaining=39),
    interaction("POST", f"{HOST}/orders/createorder", 200, stored("awaiting_shipment", "2024-06-01T12:00:01.1230000"),
                body=CREATE_BODY, remaining=38),
    interaction("GET", ORDERS_Q, 200, listing("orders", [stored("awaiting_shipment", "2024-06-01T12:00:01.1230000")],
                                              1, 1, 1), remaining=37),
    interaction("POST", f"{HOST}/orders/createorder", 200, stored("awaiting_shipment", "2024-06-01T12:05:00.0000000"),
                body=CREATE_BODY, remaining=36),
    interaction("GET", ORDERS_Q, 200, listing("orders", [stored("shipped", "2024-06-01T13:00:00.0000000")], 1, 1, 1),
                remaining=35),
]  # fmt: skip

NOTIFY_URL = f"{HOST}/shipments?storeID=123456&batchId=12345678&includeShipmentItems=true&page=1"
SHIP_NOTIFY = [
    interaction("GET", NOTIFY_URL, 200,
                listing("shipments", [shipment(33974374, "shop:1001", "#1001", "9400111899223",
                                               [("1001-1", "TEE-M", 2), ("1001-2", "MUG", 1)])], 1, 1, 1)),
]  # fmt: skip

RATE_LIMITED = [
    interaction("GET", ORDERS_Q, 429, {"message": "Too Many Requests"}, remaining=0, reset=17),
    interaction("GET", ORDERS_Q, 200, listing("orders", [], 1, 0, 0), remaining=39, reset=60),
    interaction("POST", f"{HOST}/orders/createorder", 200, stored("awaiting_shipment", "2024-06-01T12:00:01.1230000"),
                body=CREATE_BODY, remaining=38, reset=59),
]  # fmt: skip

UNAUTHORIZED = [
    interaction("GET", ORDERS_Q, 401, {"Message": "Authorization has been denied for this request."}),
]

CASSETTES = {
    "paging": PAGING,
    "createorder_update": CREATEORDER,
    "ship_notify": SHIP_NOTIFY,
    "rate_limited": RATE_LIMITED,
    "unauthorized": UNAUTHORIZED,
}

if __name__ == "__main__":
    for name, interactions in CASSETTES.items():
        text = yaml.safe_dump({"interactions": interactions, "version": 1}, sort_keys=False, allow_unicode=True)
        (HERE / f"{name}.yaml").write_text(text)
        print(f"wrote {name}.yaml ({len(interactions)} interactions)")
