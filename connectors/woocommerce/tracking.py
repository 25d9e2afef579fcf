"""Tracking out: a shipment becomes a Shipment Tracking item (extension enabled) or an order note carrying
carrier, number and URL; then the order is set to `completed` once every line has shipped.

Idempotent by reading first: the order's existing tracking items (or notes) are searched for the tracking number
before anything is written, so a retried or repeated push adds no second item or note, and marking completed is
skipped when the order already is.

"Every line has shipped" is the hub's word (`FulfillmentRequest.completes_order`, counted over all of the order's
shipments), so the last part of an order shipped in several parts completes it. Only for a request queued without
that word is it decided from the request alone: the shipment's lines (an empty list meaning every unit) must
cover every line of the order as read back from the store.
"""

from __future__ import annotations

import logging
from typing import Any

from channelhub_connectors.woocommerce.client import WooClient

from channelhub.errors import Skippable
from channelhub.ports import FulfillmentRequest

log = logging.getLogger(__name__)


def note_text(request: FulfillmentRequest) -> str:
    shipment = request.shipment
    carrier = f"{shipment.carrier} ({shipment.service})" if shipment.service else shipment.carrier
    text = f"Your order has shipped with {carrier}. Tracking number: {shipment.tracking_number}"
    if shipment.tracking_url:
        text += f"\nTrack it here: {shipment.tracking_url}"
    return text


class TrackingPusher:
    def __init__(self, client: WooClient, settings: Any) -> None:
        self.client = client
        self.settings = settings

    def push(self, request: FulfillmentRequest) -> None:
        order_id = request.order_external_id
        if not order_id.isdigit():
            raise Skippable(f"{order_id!r} is not a WooCommerce order id", where=f"channel {self.client.channel}")
        if self.settings.shipment_tracking:
            self._tracking_item(order_id, request)
        else:
            self._note(order_id, request)
        if self.settings.complete_when_shipped:
            self._complete_if_all_shipped(order_id, request)

    def _tracking_item(self, order_id: str, request: FulfillmentRequest) -> None:
        endpoint = f"orders/{order_id}/shipment-trackings"
        existing = self.client.call("GET", endpoint, tracking=True).data or []
        number = request.shipment.tracking_number
        if any(isinstance(i, dict) and str(i.get("tracking_number")) == number for i in existing):
            log.info("channel %s: order %s already has tracking %s", self.client.channel, order_id, number)
            return
        shipment = request.shipment
        body: dict[str, Any] = {"tracking_number": number, "date_shipped": shipment.shipped_at.date().isoformat()}
        provider = self.settings.tracking_providers.get(shipment.carrier)
        if provider:
            body["tracking_provider"] = provider
        else:
            body["custom_tracking_provider"] = shipment.carrier
            body["custom_tracking_link"] = shipment.tracking_url
        self.client.call("POST", endpoint, data=body, tracking=True)

    def _note(self, order_id: str, request: FulfillmentRequest) -> None:
        endpoint = f"orders/{order_id}/notes"
        number = request.shipment.tracking_number
        # The notes route pages nothing and takes no per_page (REST v3 docs, "List all order notes": context and
        # type only): WooCommerce answers every note of the order, and would silently ignore a per_page.
        notes = self.client.call("GET", endpoint).data or []
        if any(isinstance(n, dict) and number in str(n.get("note") or "") for n in notes):
            log.info("channel %s: order %s already has a note for %s", self.client.channel, order_id, number)
            return
        self.client.call(
            "POST", endpoint, data={"note": note_text(request), "customer_note": self.settings.customer_note}
        )

    def _complete_if_all_shipped(self, order_id: str, request: FulfillmentRequest) -> None:
        order = self.client.call("GET", f"orders/{order_id}").data or {}
        if order.get("status") in ("completed", "cancelled", "refunded", "failed", "trash"):
            return
        complete = request.completes_order
        if complete is None:
            complete = _covers_every_line(order, request)
        if not complete:
            return
        self.client.call("PUT", f"orders/{order_id}", data={"status": "completed"})


def _covers_every_line(order: dict[str, Any], request: FulfillmentRequest) -> bool:
    items = [i for i in order.get("line_items") or () if isinstance(i, dict)]
    if not items:
        return False
    if not request.shipment.lines:
        return True  # an empty shipment means every unshipped unit
    shipped_by_line: dict[str, int] = {}
    for line in request.shipment.lines:
        line_id = request.line_external_ids.get(line.sku)
        if line_id is None:
            return False
        shipped_by_line[line_id] = shipped_by_line.get(line_id, 0) + line.quantity
    return all(shipped_by_line.get(str(i.get("id")), 0) >= int(i.get("quantity") or 0) for i in items)
