"""Outbox rows -> the connector call each kind of write makes: the one place an outbox payload becomes a request
of the connector contract (`channelhub.ports`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from channelhub.model.shipments import Shipment
from channelhub.ports import (
    CancellationRequest,
    Connector,
    FulfillmentRequest,
    RefundRequest,
    StockUpdate,
    WriteResult,
)


def call_connector(
    connector: Connector, kind: str, rows: Sequence[Any], previous: Mapping[str, int | None]
) -> dict[str, WriteResult]:
    """Send one batch of outbox `rows` of `kind`; return the result per idempotency key.

    Stock rows go in one push_stock call (`previous`: the quantity each SKU's channel last confirmed); every other
    kind is one row per call. A connector error propagates for the dispatcher to classify; an unknown kind is a
    per-row error.
    """
    if kind == "stock":
        updates = [
            StockUpdate(
                sku=r.subject,
                quantity=int(r.payload["quantity"]),
                idempotency_key=r.idempotency_key,
                previous=previous.get(r.subject),
            )
            for r in rows
        ]
        return {result.idempotency_key: result for result in connector.push_stock(updates)}
    (row,) = rows
    payload = row.payload
    if kind == "fulfillment":
        connector.push_fulfillment(
            FulfillmentRequest(
                order_external_id=payload["order_external_id"],
                order_number=payload.get("order_number", ""),
                shipment=Shipment.model_validate(payload["shipment"]),
                line_external_ids=payload.get("line_external_ids", {}),
                idempotency_key=row.idempotency_key,
                completes_order=payload.get("completes_order"),
            )
        )
    elif kind == "cancellation":
        connector.push_cancellation(
            CancellationRequest(
                order_external_id=payload["order_external_id"],
                order_number=payload.get("order_number", ""),
                reason=payload.get("reason", ""),
                idempotency_key=row.idempotency_key,
            )
        )
    elif kind == "refund":
        connector.push_refund(
            RefundRequest(
                order_external_id=payload["order_external_id"],
                amount=str(payload["amount"]),
                currency=payload["currency"],
                reason=payload.get("reason", ""),
                lines=tuple((str(a), int(b)) for a, b in payload.get("lines", [])),
                idempotency_key=row.idempotency_key,
            )
        )
    else:
        return {row.idempotency_key: WriteResult(row.idempotency_key, error=f"no dispatcher for {kind!r}")}
    return {row.idempotency_key: WriteResult(row.idempotency_key)}
