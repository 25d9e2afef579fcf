"""Webhooks: EasyPost's signature check and the tracker records an Event carries.

EasyPost signs a delivery with `X-Hmac-Signature: hmac-sha256-hex=<hex>`: HMAC-SHA256 over the raw body, keyed
by the webhook's secret NFKD-normalised and UTF-8 encoded (as the official client's `validate_webhook` does, so
"é" typed composed or decomposed is the same secret). The hub compares in constant time; a missing header,
another scheme, no secret configured, or any difference is a rejection.

The body is an Event: `{"id": "evt_...", "object": "Event", "description": "tracker.updated", "result":
{Tracker}, "previous_attributes": {...}}`. The topic is its `description` and the delivery id its `id` (EasyPost
delivers at least once and repeats the same event id: the engine drops a delivery it has seen). The hub takes
tracker.created and tracker.updated; any other event (batch.*, shipment.*, refund.*) is answered 200 and not
stored. Everything the receiver needs is in the body, so no header is kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

from channelhub_connectors.easypost.mapper import STREAM, tracker_record

from channelhub.ports import RawRecord, WebhookDelivery

SIGNATURE_HEADER = "X-Hmac-Signature"
SCHEME = "hmac-sha256-hex="
TRACKER_TOPICS = frozenset({"tracker.created", "tracker.updated"})


def header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def signature(secret: str, raw_body: bytes) -> str:
    """The header value EasyPost sends for `raw_body` under `secret`."""
    key = unicodedata.normalize("NFKD", secret).encode("utf-8")
    return SCHEME + hmac.new(key, raw_body, hashlib.sha256).hexdigest()


def verify(secret: str | None, headers: Mapping[str, str], raw_body: bytes) -> bool:
    """True when the delivery carries EasyPost's signature of `raw_body` under `secret`."""
    given = header(headers, SIGNATURE_HEADER).strip()
    if not secret or not given.startswith(SCHEME):
        return False
    return hmac.compare_digest(signature(secret, raw_body).encode("ascii"), given.encode("ascii", "replace"))


def _event(raw_body: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(raw_body)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _delivery_id(event: dict[str, Any] | None, raw_body: bytes) -> str:
    """The Event's id; for a body without one, a hash of the body, so a redelivery is still recognised."""
    event_id = event.get("id") if event else None
    if isinstance(event_id, str) and event_id.strip():
        return event_id.strip()
    return f"body-sha256:{hashlib.sha256(raw_body).hexdigest()[:32]}"


def _topic(event: dict[str, Any]) -> str:
    return str(event.get("description") or "").strip()


def read(raw_body: bytes) -> WebhookDelivery:
    """The delivery's topic and id from the Event body, without I/O. A body that is not an Event is accepted
    (stored, then quarantined by parse): it was signed by EasyPost, so it is kept for a person to read."""
    event = _event(raw_body)
    if event is None:
        return WebhookDelivery(topic="unreadable", delivery_id=_delivery_id(None, raw_body), accepted=True)
    topic = _topic(event)
    return WebhookDelivery(
        topic=topic or "unknown", delivery_id=_delivery_id(event, raw_body), accepted=topic in TRACKER_TOPICS
    )


def parse(raw_body: bytes) -> list[RawRecord]:
    """One record of stream "trackers" per tracker Event: the body is the Event's `result` (the Tracker as
    EasyPost holds it now), `external_id` the tracker's id, `delivery_id` the event's. [] for other topics."""
    event = _event(raw_body)
    delivery = _delivery_id(event, raw_body)
    text = raw_body.decode("utf-8", "replace")
    if event is None:
        return [
            RawRecord(
                STREAM,
                f"webhook {delivery}",
                text,
                problem="the webhook body is not a JSON object",
                delivery_id=delivery,
            )
        ]
    topic = _topic(event)
    if topic not in TRACKER_TOPICS:
        return []
    source = f"webhook {topic} {delivery}"
    result = event.get("result")
    if not isinstance(result, dict) or result.get("object", "Tracker") != "Tracker":
        return [
            RawRecord(STREAM, source, text, problem="the tracker event's result is not a Tracker", delivery_id=delivery)
        ]
    return [tracker_record(result, source, delivery)]
