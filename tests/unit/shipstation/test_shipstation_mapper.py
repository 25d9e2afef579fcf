"""The createorder body (domestic, international with customs, exact money, Pacific times) and the mapping of
shipments and orders back (the hub's key format, unknown SKUs kept, what is refused with its reason)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from channelhub_connectors.shipstation import mapper, reading
from channelhub_connectors.shipstation.client import dumps_exact
from channelhub_connectors.shipstation.config import ShipStationSettings
from channelhub_connectors.shipstation.times import parse_time, to_pacific

from channelhub.errors import MappingError, Skippable
from channelhub.model.customs import DutiesPaidBy
from channelhub.ports import FulfillmentOrderRequest, RawRecord
from doubles.shipstation import samples

SETTINGS = ShipStationSettings(api_key="k" * 8, api_secret="s" * 8)


def body(request: FulfillmentOrderRequest, **settings: object) -> dict:
    return mapper.order_body(request, SETTINGS.model_copy(update=settings) if settings else SETTINGS)


def test_domestic_order_body_carries_key_lines_address_and_figures() -> None:
    out = body(samples.request(1001))
    assert out["orderKey"] == "shop:1001" and out["orderNumber"] == "#1001"
    assert out["orderStatus"] == "awaiting_shipment"
    assert out["orderDate"] == "2024-05-31T15:30:00"  # 22:30 UTC is 15:30 PDT, written without an offset
    assert out["shipTo"]["street1"] == "1 Analytical Row" and out["shipTo"]["postalCode"] == "97201"
    assert out["shipTo"]["country"] == "US" and out["billTo"] == out["shipTo"]  # no billing address: ship-to
    assert [(i["lineItemKey"], i["sku"], i["name"], i["quantity"]) for i in out["items"]] == [
        ("1001-1", "TEE-M", "Tee - M", 2),
        ("1001-2", "MUG", "Mug", 1),
    ]
    assert out["items"][0]["weight"] == {"value": Decimal(180), "units": "grams"}
    assert (out["amountPaid"], out["taxAmount"], out["shippingAmount"]) == (
        Decimal("48.04"), Decimal("3.19"), Decimal("4.95"),
    )  # fmt: skip
    assert "internationalOptions" not in out


def test_money_goes_out_as_json_numbers_with_their_own_digits() -> None:
    raw = dumps_exact(body(samples.request(1001))).decode()
    assert '"unitPrice":19.90' in raw and '"unitPrice":0.10' in raw and '"amountPaid":48.04' in raw
    parsed = json.loads(raw, parse_float=Decimal)
    assert parsed["items"][1]["unitPrice"] == Decimal("0.10")
    assert isinstance(json.loads(raw)["items"][0]["unitPrice"], float)  # a number on the wire, not a string
    assert dumps_exact({"a": Decimal("12345678901234.5678"), "b": [Decimal("-0.01")]}) == (
        b'{"a":12345678901234.5678,"b":[-0.01]}'
    )


def test_weights_convert_to_the_configured_unit() -> None:
    ounces = body(samples.request(), weight_units="ounces")["items"][0]["weight"]
    pounds = body(samples.request(), weight_units="pounds")["items"][1]["weight"]
    assert ounces == {"value": Decimal("6.35"), "units": "ounces"}  # 180 g
    assert pounds == {"value": Decimal("0.7716"), "units": "pounds"}  # 350 g


def test_international_order_carries_customs_contents_non_delivery_and_duties() -> None:
    out = body(samples.request(2002, international=True))
    assert out["shipTo"]["country"] == "CA"
    options = out["internationalOptions"]
    assert options["contents"] == "merchandise" and options["nonDelivery"] == "return_to_sender"
    assert options["customsItems"] == [
        {"description": "Cotton T-shirt", "quantity": 2, "value": Decimal("19.90"),
         "harmonizedTariffCode": "610910", "countryOfOrigin": "PT"},
        {"description": "Ceramic mug", "quantity": 1, "value": Decimal("0.10"),
         "harmonizedTariffCode": "691200", "countryOfOrigin": "CN"},
    ]  # fmt: skip
    assert out["advancedOptions"]["customField3"] == "DDP: duties paid by sender"


def test_duties_paid_by_recipient_and_custom_field_choice() -> None:
    request = samples.request(2003, international=True)
    request = FulfillmentOrderRequest(
        order_key=request.order_key, order=request.order, idempotency_key=request.idempotency_key,
        customs=samples.customs(paid_by=DutiesPaidBy.RECIPIENT),
    )  # fmt: skip
    out = body(request, duties_custom_field="customField1")
    assert out["advancedOptions"]["customField1"] == "DAP: duties paid by recipient"
    assert "customField3" not in out["advancedOptions"]
    assert "customField1" not in body(request, duties_custom_field=None)["advancedOptions"]


def test_customs_in_another_currency_than_the_account_declares_is_refused() -> None:
    request = samples.request(2004, international=True)
    eur = FulfillmentOrderRequest(
        order_key=request.order_key, order=request.order, idempotency_key="k", customs=samples.customs("EUR")
    )
    with pytest.raises(Skippable, match=r"customs values are in EUR.*declares in USD"):
        body(eur)
    assert body(eur, customs_currency="EUR")["internationalOptions"]["customsItems"][0]["value"] == Decimal("19.90")


def test_an_order_without_shipping_address_is_refused_with_the_reason() -> None:
    request = samples.request(3003)
    bare = FulfillmentOrderRequest(
        order_key=request.order_key, order=request.order.model_copy(update={"shipping_address": None}),
        idempotency_key="k",
    )  # fmt: skip
    with pytest.raises(Skippable, match="no shipping address"):
        body(bare)


def test_pacific_times_both_ways_across_daylight_saving() -> None:
    assert to_pacific(datetime(2024, 1, 15, 20, 0, tzinfo=UTC)) == "2024-01-15T12:00:00"  # PST, UTC-8
    assert to_pacific(datetime(2024, 7, 15, 20, 0, tzinfo=UTC)) == "2024-07-15T13:00:00"  # PDT, UTC-7
    assert parse_time("2015-06-29T08:46:27.0000000") == datetime(2015, 6, 29, 15, 46, 27, tzinfo=UTC)
    assert parse_time("2015-06-29T08:46:27.1234567Z") == datetime(2015, 6, 29, 8, 46, 27, 123456, tzinfo=UTC)


# --- shipments back -------------------------------------------------------------------------------------------


def shipment(**overrides: object) -> dict:
    data = {
        "shipmentId": 33974374, "orderId": 43945660, "orderKey": "shop:1001", "orderNumber": "#1001",
        "createDate": "2024-06-01T09:12:00.0000000", "shipDate": "2024-06-01", "trackingNumber": "9400111899223",
        "isReturnLabel": False, "carrierCode": "usps", "serviceCode": "usps_priority_mail", "voided": False,
        "voidDate": None,
        "shipmentItems": [{"lineItemKey": "1001-1", "sku": "TEE-M", "name": "Tee", "quantity": 2}],
    }  # fmt: skip
    data.update(overrides)
    return data


def record(data: object) -> RawRecord:
    return RawRecord("shipments", "test", json.dumps(data))


def test_a_shipment_maps_to_a_provider_shipment() -> None:
    mapped = reading.map_shipment(record(shipment()), {})
    assert mapped.order_key == "shop:1001" and not mapped.voided
    s = mapped.shipment
    assert (s.carrier, s.service, s.tracking_number, s.external_id) == (
        "usps", "usps_priority_mail", "9400111899223", "33974374",
    )  # fmt: skip
    assert [(line.sku, line.quantity) for line in s.lines] == [("TEE-M", 2)]
    assert s.shipped_at == datetime(2024, 6, 1, 16, 12, tzinfo=UTC)  # createDate on shipDate: 09:12 PDT


def test_shipped_at_is_midnight_pacific_of_ship_date_when_the_label_is_for_a_later_day() -> None:
    mapped = reading.map_shipment(record(shipment(shipDate="2024-06-03")), {})
    assert mapped.shipment.shipped_at == datetime(2024, 6, 3, 7, 0, tzinfo=UTC)


def test_a_voided_label_comes_back_voided() -> None:
    assert reading.map_shipment(record(shipment(voided=True, voidDate="2024-06-02T10:00:00.0000000")), {}).voided


def test_an_order_key_not_in_the_hubs_format_is_refused_with_the_reason() -> None:
    with pytest.raises(MappingError, match=r"orderKey '0f6bec18-9-4771-83aa-f392d84f4c74'.*not a key the hub gave"):
        reading.map_shipment(record(shipment(orderKey="0f6bec18-9-4771-83aa-f392d84f4c74")), {})
    with pytest.raises(MappingError, match="orderKey None"):
        reading.map_shipment(record(shipment(orderKey=None)), {})


def test_an_unknown_sku_is_kept_as_it_is_for_the_engine_to_hold() -> None:
    items = [{"sku": "NOT-IN-THE-HUB", "quantity": 1}, {"sku": "CH-SKU", "quantity": 3}]
    mapped = reading.map_shipment(record(shipment(shipmentItems=items)), {"CH-SKU": "HUB-SKU"})
    assert [(line.sku, line.quantity) for line in mapped.shipment.lines] == [("NOT-IN-THE-HUB", 1), ("HUB-SKU", 3)]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"shipmentItems": None}, "no shipmentItems"),
        ({"shipmentItems": []}, "no shipmentItems"),
        ({"shipmentItems": [{"sku": "", "quantity": 1}]}, "has no SKU"),
        ({"shipmentItems": [{"sku": "A", "quantity": 1.5}]}, "not a whole number"),
        ({"isReturnLabel": True}, "return label"),
        ({"shipDate": "soon", "createDate": None}, "shipment 33974374"),
    ],
)
def test_shipments_that_do_not_map_are_refused_with_the_reason(overrides: dict, reason: str) -> None:
    with pytest.raises(MappingError, match=reason):
        reading.map_shipment(record(shipment(**overrides)), {})


def test_not_json_is_refused() -> None:
    with pytest.raises(MappingError, match="not JSON"):
        reading.map_shipment(RawRecord("shipments", "test", "{"), {})


def test_a_cancelled_shipstation_order_maps_to_a_provider_order_status() -> None:
    data = {"orderId": 7, "orderKey": "shop:1001", "orderStatus": "cancelled", "modifyDate": "2024-06-01T10:00:00.0"}
    status = reading.map_provider_order(RawRecord("provider_orders", "test", json.dumps(data)))
    assert status.cancelled and status.order_key == "shop:1001" and status.provider_order_id == "7"
    assert status.modified_at == datetime(2024, 6, 1, 17, 0, tzinfo=UTC)
    with pytest.raises(MappingError, match="not a key the hub gave"):
        reading.map_provider_order(RawRecord("provider_orders", "t", json.dumps({**data, "orderKey": "x"})))
