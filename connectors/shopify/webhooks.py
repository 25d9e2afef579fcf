"""Webhooks: signature check and the records for orders/create, orders/updated, orders/cancelled, refunds/create.

`verify` recomputes base64(HMAC-SHA256(client secret, raw body)) and compares it with X-Shopify-Hmac-Sha256 in
constant time; a missing header, a missing secret or any difference is a rejection. Order topics carry the REST
order (snake_case): it becomes one record for the same apply path as polling, with `delivery_id` =
X-Shopify-Webhook-Id (the engine drops a delivery it has seen). refunds/create carries only the refund: the
connector fetches the whole order (one GraphQL call) and records that node, so the refund lands on the order
through the same path (the fetch is the only I/O here; its failure is Retryable and Shopify redelivers).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any

from channelhub.errors import Skippable
from channelhub.ports import RawRecord, WebhookDelivery

ORDER_TOPICS = {"orders/create", "orders/updated", "orders/cancelled", "orders/paid", "orders/fulfilled"}
REFUND_TOPICS = {"refunds/create"}


def header(headers: Mapping[str, str], name: str) -> str | None:
    lower = name.lower()
    for key, value in headers.items():
        if key.lower() == lower:
            return value
    return None


def signature(secret: str, raw_body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), raw_body, hashlib.sha256).digest()).decode()


def verify(headers: Mapping[str, str], raw_body: bytes, secret: str | None) -> bool:
    given = header(headers, "X-Shopify-Hmac-Sha256")
    if not given or not secret:
        return False
    return hmac.compare_digest(signature(secret, raw_body).encode(), given.strip().encode())


KEPT_HEADERS = ("X-Shopify-Topic", "X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Shop-Domain",
                "X-Shopify-Api-Version", "X-Shopify-Triggered-At")  # fmt: skip


def read(headers: Mapping[str, str]) -> WebhookDelivery:
    """The delivery's topic and id, without I/O; a topic the hub does not subscribe to is not accepted."""
    topic = (header(headers, "X-Shopify-Topic") or "").strip().lower()
    delivery = header(headers, "X-Shopify-Webhook-Id") or header(headers, "X-Shopify-Event-Id")
    kept = {name: value for name in KEPT_HEADERS if (value := header(headers, name))}
    accepted = topic in ORDER_TOPICS or topic in REFUND_TOPICS
    return WebhookDelivery(topic=topic, delivery_id=delivery, accepted=accepted, headers=kept)


def parse(
    headers: Mapping[str, str], raw_body: bytes, *, fetch_order: Callable[[str], dict[str, Any] | None], where: str
) -> list[RawRecord]:
    topic = (header(headers, "X-Shopify-Topic") or "").strip().lower()
    delivery = header(headers, "X-Shopify-Webhook-Id") or header(headers, "X-Shopify-Event-Id")
    source = f"webhook {topic or '?'} {delivery or '?'}"
    if not delivery:
        raise Skippable("a webhook without X-Shopify-Webhook-Id cannot be deduplicated", where=source)
    text = raw_body.decode("utf-8", "replace")
    try:
        payload = json.loads(raw_body)
    except ValueError as exc:
        return [RawRecord("orders", source, text, problem=f"not JSON: {exc}", delivery_id=delivery)]
    if topic in ORDER_TOPICS:
        ext = str(payload.get("id")) if isinstance(payload, dict) and payload.get("id") is not None else None
        return [RawRecord("orders", source, text, external_id=ext, delivery_id=delivery)]
    if topic in REFUND_TOPICS:
        order_id = payload.get("order_id") if isinstance(payload, dict) else None
        if order_id is None:
            return [RawRecord("orders", source, text, problem="refund without order_id", delivery_id=delivery)]
        node = fetch_order(str(order_id))
        if node is None:
            return [RawRecord("orders", source, text, problem=f"order {order_id} not found", delivery_id=delivery)]
        return [
            RawRecord(
                "orders",
                f"{source} (order {order_id} fetched)",
                json.dumps(node, sort_keys=True),
                external_id=str(order_id),
                delivery_id=delivery,
            )
        ]
    raise Skippable(f"topic {topic!r} is not one the hub subscribes to", where=source)
