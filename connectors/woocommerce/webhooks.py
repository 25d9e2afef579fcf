"""Webhooks: signature check and parsing into the same records as polling.

WooCommerce signs each delivery with `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, raw body)) and names
it with `X-WC-Webhook-Delivery-ID` (the engine deduplicates on it), `X-WC-Webhook-Topic` and
`X-WC-Webhook-Resource`. When a webhook is created the store sends a ping, a form body `webhook_id=<id>` with no
topic: it is accepted (a non-2xx answer counts towards the store disabling the webhook) and yields no record.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping

from channelhub_connectors.woocommerce.orders import LineSkuResolver, to_record

from channelhub.errors import Skippable
from channelhub.ports import RawRecord, WebhookDelivery

log = logging.getLogger(__name__)

ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})


def header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def signature(secret: str, raw_body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).digest()).decode("ascii")


def verify(secret: str | None, headers: Mapping[str, str], raw_body: bytes) -> bool:
    """True when the delivery carries a valid signature for `secret` (compared in constant time)."""
    given = header(headers, "X-WC-Webhook-Signature").strip()
    if not secret or not given:
        return False
    return hmac.compare_digest(signature(secret, raw_body).encode("ascii"), given.encode("ascii", "replace"))


def is_ping(headers: Mapping[str, str], raw_body: bytes) -> bool:
    return not header(headers, "X-WC-Webhook-Topic") and raw_body.strip().startswith(b"webhook_id=")


KEPT_HEADERS = ("X-WC-Webhook-Topic", "X-WC-Webhook-Delivery-ID", "X-WC-Webhook-Resource", "X-WC-Webhook-Event",
                "X-WC-Webhook-Source", "X-WC-Webhook-ID")  # fmt: skip


def read(headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
    """The delivery's topic and id, without I/O: a ping or a topic the hub does not take is not accepted (it
    is answered 200 all the same: five non-2xx answers in a row disable the webhook at the store)."""
    topic = header(headers, "X-WC-Webhook-Topic")
    delivery = header(headers, "X-WC-Webhook-Delivery-ID") or None
    kept = {name: value for name in KEPT_HEADERS if (value := header(headers, name))}
    accepted = not is_ping(headers, raw_body) and topic in ORDER_TOPICS
    return WebhookDelivery(topic=topic or "ping", delivery_id=delivery, accepted=accepted, headers=kept)


def parse(headers: Mapping[str, str], raw_body: bytes, resolver: LineSkuResolver, channel: str) -> list[RawRecord]:
    """Records for an order.created/updated delivery; [] for a ping or a topic the hub does not take."""
    if is_ping(headers, raw_body):
        log.info("channel %s: webhook ping accepted (%s)", channel, raw_body[:40].decode("ascii", "replace"))
        return []
    topic = header(headers, "X-WC-Webhook-Topic")
    delivery = header(headers, "X-WC-Webhook-Delivery-ID") or None
    if topic not in ORDER_TOPICS:
        log.info("channel %s: webhook topic %r ignored (delivery %s)", channel, topic, delivery)
        return []
    source = f"webhook {topic} delivery {delivery or '(no id)'}"
    text = raw_body.decode("utf-8", errors="replace")
    try:
        order = json.loads(text)
    except ValueError as exc:
        return [RawRecord("orders", source, text, problem=f"webhook body is not JSON: {exc}", delivery_id=delivery)]
    try:
        return [to_record(order, source, resolver, raw=text, delivery_id=delivery)]
    except Skippable as exc:
        return [RawRecord("orders", source, text, problem=str(exc), delivery_id=delivery)]
