"""Webhooks: SHIP_NOTIFY and ORDER_NOTIFY, unsigned, authenticated by a secret the receiver URL carries.

Sources (docs.shipstation.com, ShipStation V1 API): "Webhook" model (the body is {resource_url, resource_type};
"Access the URL with ShipStation API Basic Authentication credentials"; resource_type one of ORDER_NOTIFY,
ITEM_ORDER_NOTIFY, SHIP_NOTIFY, ITEM_SHIP_NOTIFY, FULFILLMENT_SHIPPED, FULFILLMENT_REJECTED). Nothing signs the
delivery, and it carries no delivery id.

- verify: the secret of the receiver URL (`?secret=...`, registered as the webhook's target URL) reaches the
  connector as the pseudo-header `X-Channelhub-Url-Secret` (or inside `X-Channelhub-Query`, the request's raw
  query string), put there by the hub's web app; it is compared with settings.webhook_secret in constant time.
  The body is not signed: what a forger could change in it is only which ShipStation resource the hub fetches,
  and parse fetches nothing but the configured API host.
- read: SHIP_NOTIFY and ORDER_NOTIFY are taken, other types answered 200 and not stored; the delivery id is the
  sha256 of the body (a redelivery has the same resource_url, so the same id). No header is kept: the secret
  must never be stored with the body.
- parse: resource_url is fetched with the channel's credentials only when its scheme and host are the configured
  api_host's (otherwise Skippable naming the host, and nothing is sent), paged, with includeShipmentItems=true
  for shipments. SHIP_NOTIFY yields "shipments" records, ORDER_NOTIFY "provider_orders" records of the hub's
  own orders (the account's other orders are left out: the hub never sent them).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from channelhub_connectors.shipstation.client import ShipStationClient, same_origin
from channelhub_connectors.shipstation.pulls import pages
from channelhub_connectors.shipstation.reading import SHIPMENTS, is_hub_key, order_record, shipment_record

from channelhub.errors import Skippable
from channelhub.ports import RawRecord, WebhookDelivery

log = logging.getLogger(__name__)

TAKEN = frozenset({"SHIP_NOTIFY", "ORDER_NOTIFY"})
URL_SECRET_HEADER = "X-Channelhub-Url-Secret"
QUERY_HEADER = "X-Channelhub-Query"


def header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


def url_secret(headers: Mapping[str, str]) -> str:
    """The secret the receiver URL carried, as the web app handed it over ("" when none)."""
    given = header(headers, URL_SECRET_HEADER)
    if given:
        return given
    values = parse_qs(header(headers, QUERY_HEADER)).get("secret") or [""]
    return values[0]


def verify(secret: str | None, headers: Mapping[str, str]) -> bool:
    """True when the URL's secret equals `secret` (constant time); False when either is missing."""
    given = url_secret(headers)
    if not secret or not given:
        return False
    return hmac.compare_digest(secret.encode("utf-8"), given.encode("utf-8"))


def _body(raw_body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw_body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def delivery_id(raw_body: bytes) -> str:
    return hashlib.sha256(raw_body).hexdigest()


def read(raw_body: bytes) -> WebhookDelivery:
    """The delivery's type and id, without I/O; no header is kept (see the module docstring)."""
    topic = str(_body(raw_body).get("resource_type") or "unknown")
    return WebhookDelivery(topic=topic, delivery_id=delivery_id(raw_body), accepted=topic in TAKEN, headers={})


def with_items(url: str) -> str:
    """`url` asking for shipmentItems: without them a shipment's lines cannot be told (reading.py)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "includeshipmentitems"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("includeShipmentItems", "true")])))


def parse(client: ShipStationClient, raw_body: bytes, channel: str) -> list[RawRecord]:
    """Records for a SHIP_NOTIFY or ORDER_NOTIFY delivery ([] for other types); see the module docstring."""
    data = _body(raw_body)
    topic, url, delivery = str(data.get("resource_type") or ""), data.get("resource_url"), delivery_id(raw_body)
    if topic not in TAKEN:
        log.info("channel %s: ShipStation webhook %r ignored", channel, topic)
        return []
    if not isinstance(url, str) or not url:
        return [RawRecord(SHIPMENTS, f"webhook {topic}", raw_body.decode("utf-8", "replace"),
                          problem="the delivery has no resource_url", delivery_id=delivery)]  # fmt: skip
    if not same_origin(url, client.api_host):
        host = urlsplit(url).netloc or "(no host)"
        raise Skippable(
            f"webhook resource_url is on {host}, not the configured {urlsplit(client.api_host).netloc}: "
            "not fetched, the channel's credentials go nowhere else",
            where=f"channel {channel}: webhook {topic} {delivery[:12]}",
        )
    records: list[RawRecord] = []
    key = "shipments" if topic == "SHIP_NOTIFY" else "orders"
    target = with_items(url) if topic == "SHIP_NOTIFY" else url
    for page, total, items in pages(client, target, {}, key):
        for i, item in enumerate(items, 1):
            source = f"webhook {topic} {delivery[:12]} page {page}/{total} #{i}"
            if key == "shipments":
                records.append(shipment_record(item, source, delivery))
            elif isinstance(item, dict) and is_hub_key(item.get("orderKey")):
                records.append(order_record(item, source, delivery))
    return records
