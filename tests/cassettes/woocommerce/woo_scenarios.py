"""What the WooCommerce cassette scenarios send: shared by record.py (which records them) and the replay tests
(which must send exactly the same requests, or a body-matched cassette does not play)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.ports import CancellationRequest, FulfillmentRequest, StockUpdate

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
OVERLAP = timedelta(minutes=5)

STOCK_UPDATES = [
    StockUpdate("TEE-PLAIN", 7, "k-tee"),
    StockUpdate("MUG", 2, "k-mug"),
    StockUpdate("POSTER", 9, "k-poster"),
    StockUpdate("HOODIE-S", 1, "k-hs"),
    StockUpdate("HOODIE-M", 0, "k-hm"),
    StockUpdate("NOPE", 3, "k-nope"),
]


def fulfilment(order_id: int) -> FulfillmentRequest:
    return FulfillmentRequest(
        order_external_id=str(order_id),
        order_number=str(order_id),
        shipment=Shipment(
            carrier="Colissimo",
            tracking_number="6A12345678901",
            tracking_url="https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",
            shipped_at=datetime(2024, 5, 20, 15, 0, tzinfo=UTC),
            lines=(ShipmentLine(sku="TEE-PLAIN", quantity=2),),
        ),
        line_external_ids={"TEE-PLAIN": f"{order_id * 100 + 1}"},
        idempotency_key=f"ful-{order_id}",
    )


def cancellation(order_id: int) -> CancellationRequest:
    return CancellationRequest(str(order_id), str(order_id), "customer asked to cancel", f"cancel-{order_id}")
