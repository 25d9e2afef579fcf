"""Payment facts and the Shipment Tracking items, through the mapper (and the fake store for the round trip)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from woo_helpers import connector, fake
from woo_scenarios import fulfilment

from channelhub.model.orders import ChannelFulfillment, FinancialStatus, Order
from channelhub.ports import RawRecord
from doubles.woocommerce.fake_store import make_order


def _map(raw: dict, **kw) -> Order:  # type: ignore[type-arg]
    return connector(**kw).map_order(RawRecord("orders", "test", json.dumps(raw)))


@pytest.mark.parametrize(
    ("status", "method", "paid", "transaction", "financial"),
    [
        ("processing", "stripe", True, True, FinancialStatus.PAID),
        ("processing", "cod", False, False, FinancialStatus.PENDING),  # cash on delivery: not collected yet
        ("processing", "bacs", False, False, FinancialStatus.PENDING),
        ("processing", "acme-pay", False, True, FinancialStatus.PAID),  # the gateway recorded its charge
        ("completed", "cod", True, False, FinancialStatus.PAID),  # completion sets date_paid for COD
        ("completed", "cod", False, False, FinancialStatus.PAID),  # an old order: completed means collected
        ("on-hold", "stripe", False, True, FinancialStatus.AUTHORIZED),  # authorised, not captured
        ("on-hold", "bacs", False, False, FinancialStatus.PENDING),
        ("pending", "bacs", False, False, FinancialStatus.PENDING),
    ],
)
def test_financial_status_from_the_payment_facts(status, method, paid, transaction, financial) -> None:  # type: ignore[no-untyped-def]
    raw = make_order(50, status=status, payment_method=method, paid=paid)
    raw["transaction_id"] = "txn_50" if transaction else ""
    order = _map(raw)
    assert order.financial_status == financial
    assert order.payment_method == method
    assert order.paid_at == (datetime(2024, 5, 1, 10, 0, tzinfo=UTC) if paid else None)
    assert order.extra["payment_method_title"]


def test_cod_processing_order_is_unsettled_so_the_core_gate_decides_by_its_method() -> None:
    order = _map(make_order(51, payment_method="cod", paid=False))
    assert not order.financial_status.settled and order.payment_method == "cod" and order.hold_reason == ""


def _tracking(*items: dict) -> list[dict]:  # type: ignore[type-arg]
    return [{"id": 1, "key": "_wc_shipment_tracking_items", "value": list(items)}]


def test_tracking_items_are_channel_fulfilments_of_the_whole_order() -> None:
    meta = _tracking(
        {"tracking_provider": "", "custom_tracking_provider": "Colissimo", "tracking_number": "6A1",
         "custom_tracking_link": "https://www.laposte.fr/suivi?code=6A1", "date_shipped": "1716163200",
         "tracking_id": "abc123"},
        {"tracking_provider": "usps", "custom_tracking_provider": "", "custom_tracking_link": "",
         "tracking_number": "9400", "date_shipped": 1716249600, "tracking_id": "def456"},
        {"tracking_provider": "dhl", "tracking_number": "", "tracking_id": "empty"},
    )  # fmt: skip
    order = _map(make_order(52, status="completed", meta_data=meta), tracking_providers={"USPS": "usps"})
    first, second = order.fulfillments
    assert (first.external_id, first.carrier, first.tracking_numbers, first.tracking_urls, first.lines) == (
        "abc123", "Colissimo", ("6A1",), ("https://www.laposte.fr/suivi?code=6A1",), ()
    )  # fmt: skip
    assert first.shipped_at == datetime(2024, 5, 20, tzinfo=UTC)
    assert (second.external_id, second.carrier, second.tracking_urls) == ("def456", "USPS", ())
    assert order.fulfillment == ChannelFulfillment.FULFILLED


def test_a_tracking_item_without_a_date_ships_at_the_last_change() -> None:
    meta = _tracking({"tracking_provider": "ups", "tracking_number": "1Z", "date_shipped": ""})
    (shipment,) = _map(make_order(53, meta_data=meta)).fulfillments
    assert shipment.external_id == "1Z" and shipment.carrier == "ups"
    assert shipment.shipped_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("providers", [{}, {"Colissimo": "colissimo"}])
def test_what_the_hub_pushes_reads_back_as_the_same_carrier_and_number(providers: dict[str, str]) -> None:
    store, woo = fake(shipment_tracking=True, tracking_providers=providers)
    store.orders[301] = make_order(301, lines=[{"sku": "TEE-PLAIN", "product_id": 10, "quantity": 2}])
    request = fulfilment(301)
    woo.push_fulfillment(request)
    record = woo.map_order(RawRecord("orders", "test", json.dumps(store.orders[301])))
    (shipment,) = record.fulfillments
    assert shipment.carrier == request.shipment.carrier
    assert shipment.tracking_numbers == (request.shipment.tracking_number,)
    assert shipment.shipped_at.date() == request.shipment.shipped_at.date()
    assert shipment.tracking_urls == (() if providers else (request.shipment.tracking_url,))
