"""The hub's own cancellations out: `PUT orders/<id> {"status": "cancelled"}`, after a look at the order.

1. `GET orders/<id>`. Already `cancelled` (an earlier try whose answer was lost, a restart, a cancel made in the
   store's admin): done, nothing sent. This read is what makes a retry safe: WooCommerce takes no idempotency key.
2. A status the hub does not cancel from: `completed` (shipped), `refunded` (the money went back) and `trash`
   (deleted in the admin) are Skippable, naming the status: the write goes dead at once with that reason.
   WooCommerce itself would accept the change from any of them; the hub's lifecycle does not.
3. Otherwise (pending, processing, on-hold, failed, a status a plugin added) the status is set to cancelled.

What the store does on its own when an order becomes cancelled (WooCommerce core hooks
`wc_maybe_increase_stock_levels` to `woocommerce_order_status_cancelled`): for an order whose stock it had
reduced (payment complete, processing, on-hold, completed) it puts each managed line's quantity back, once. The
hub releases the same reservation and publishes its own sellable figure, which overwrites the store's; that
figure must land after the cancellation (see the report to the engine: a stock write for the order's SKUs that
lands before this PUT is raised again by the store's restock). The store also mails its "Cancelled order" email
to the shop's admin address; the customer is not mailed by core WooCommerce.
"""

from __future__ import annotations

import logging

from channelhub_connectors.woocommerce.client import WooClient

from channelhub.errors import Skippable
from channelhub.ports import CancellationRequest

log = logging.getLogger(__name__)

CANCELLED = "cancelled"
NOT_CANCELLED_FROM = {
    "completed": "it has shipped",
    "refunded": "its payment was refunded",
    "trash": "it was deleted in the store's admin",
}


class CancellationPusher:
    def __init__(self, client: WooClient) -> None:
        self.client = client

    def push(self, request: CancellationRequest) -> bool:
        """Cancel the order; True when this call set the status, False when it was cancelled already."""
        order_id = request.order_external_id
        where = f"channel {self.client.channel}, order {request.order_number or order_id}"
        if not order_id.isdigit():
            raise Skippable(f"{order_id!r} is not a WooCommerce order id", where=where)
        order = self.client.call("GET", f"orders/{order_id}").data or {}
        status = str(order.get("status") or "")
        if status == CANCELLED:
            log.info("%s: already cancelled in WooCommerce, nothing sent", where)
            return False
        if status in NOT_CANCELLED_FROM:
            raise Skippable(
                f"WooCommerce shows the order {status!r} ({NOT_CANCELLED_FROM[status]}): the hub does not cancel it",
                where=where,
            )
        self.client.call("PUT", f"orders/{order_id}", data={"status": CANCELLED})
        return True
