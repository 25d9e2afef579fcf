"""Inbound mapping: ShipStation shipments -> ProviderShipment, ShipStation orders -> ProviderOrderStatus.

Sources (docs.shipstation.com, ShipStation V1 API): "List Shipments" (only labels made in ShipStation are listed;
`shipmentItems` only with includeShipmentItems=true) and its Shipment fields (shipmentId, orderId, orderKey,
orderNumber, createDate, shipDate, trackingNumber, isReturnLabel, carrierCode, serviceCode, voided, voidDate,
shipmentItems [{lineItemKey, sku, name, quantity, ...}]); "Order" model (orderId, orderKey, orderNumber,
orderStatus, modifyDate). Times follow `times` (US Pacific without an offset).

shipped_at: `shipDate` is a date only. When the label's `createDate` falls on that (Pacific) date, it is the time
the parcel was labelled and is taken; otherwise (a label dated for a later day) midnight Pacific of shipDate.

Refusals (MappingError, so the engine quarantines the record with the reason, and a replay can follow a fix):
an orderKey not in the hub's "<channel>:<external id>" form (an order the hub never sent: made in ShipStation or
imported from another store), a return label, a shipment without shipmentItems (the hub would read "every unit"),
a line without a SKU or a quantity. A SKU the hub does not know is kept as it is: the engine holds the shipment
with that reason, as it holds an order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelhub_connectors.shipstation.client import dumps_exact
from channelhub_connectors.shipstation.times import pacific_date, parse_date, parse_time
from pydantic import ValidationError

from channelhub.errors import MappingError
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.ports import ProviderShipment, RawRecord, hub_sku

SHIPMENTS = "shipments"
PROVIDER_ORDERS = "provider_orders"
# The hub's order key: "<channel>:<external id>" (ports.FulfillmentOrderRequest). A channel name has no colon.
ORDER_KEY = re.compile(r"^[^:\s]+:\S.*$")


@dataclass(frozen=True)
class ProviderOrderStatus:
    """A ShipStation order the hub sent, as ShipStation now holds it. `cancelled` is True when it was cancelled
    there (the engine cancels the hub's order, or holds it when it has shipped). `status` is ShipStation's word."""

    order_key: str
    provider_order_id: str
    status: str
    modified_at: datetime | None

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


def is_hub_key(value: Any) -> bool:
    return isinstance(value, str) and bool(ORDER_KEY.match(value))


def _load(record: RawRecord) -> dict[str, Any]:
    try:
        data = json.loads(record.body, parse_float=Decimal)
    except ValueError as exc:
        raise MappingError(f"not JSON: {exc}", where=record.source) from None
    if not isinstance(data, dict):
        raise MappingError("not a ShipStation object", where=record.source)
    return data


def _order_key(data: Mapping[str, Any], what: str, where: str) -> str:
    key = data.get("orderKey")
    if not is_hub_key(key):
        raise MappingError(
            f"{what} for orderKey {key!r} (order {data.get('orderNumber')!r}): not a key the hub gave "
            "(<channel>:<external id>), so not an order the hub sent to ShipStation",
            where=where,
        )
    return str(key)


def _quantity(value: Any) -> int:
    number = Decimal(str(value))
    if number != number.to_integral_value() or number <= 0:
        raise ValueError(f"quantity {value!r} is not a whole number above zero")
    return int(number)


def _lines(items: Any, sku_map: Mapping[str, str], where: str) -> tuple[ShipmentLine, ...]:
    if not isinstance(items, list) or not items:
        raise MappingError(
            "the shipment carries no shipmentItems (fetched without includeShipmentItems=true?): the hub will not "
            "read it as every unit of the order",
            where=where,
        )
    lines = []
    for position, entry in enumerate(items, 1):
        entry = entry if isinstance(entry, dict) else {}
        sku = hub_sku(sku_map, entry.get("sku"))
        if not sku:
            raise MappingError(f"shipment item {position} ({entry.get('lineItemKey')!r}) has no SKU", where=where)
        try:
            lines.append(ShipmentLine(sku=sku, quantity=_quantity(entry.get("quantity"))))
        except (ValueError, ArithmeticError, ValidationError) as exc:
            raise MappingError(f"shipment item {position} ({sku}): {exc}", where=where) from None
    return tuple(lines)


def shipped_at(data: Mapping[str, Any]) -> datetime:
    """See the module docstring: createDate when it is on shipDate (Pacific), else midnight Pacific of shipDate."""
    ship_date, created = data.get("shipDate"), data.get("createDate")
    created_at = parse_time(str(created)) if created else None
    if not ship_date:
        if created_at is None:
            raise ValueError("neither shipDate nor createDate")
        return created_at
    day = parse_date(str(ship_date))
    if created_at is not None and pacific_date(day) <= created_at < pacific_date(day.fromordinal(day.toordinal() + 1)):
        return created_at
    return pacific_date(day)


def map_shipment(record: RawRecord, sku_map: Mapping[str, str]) -> ProviderShipment:
    """One ShipStation shipment as the hub's ProviderShipment (pure); MappingError naming what does not map."""
    data = _load(record)
    where = record.source
    order_key = _order_key(data, "a shipment", where)
    if data.get("isReturnLabel"):
        raise MappingError(f"shipment {data.get('shipmentId')} is a return label, not a shipment out", where=where)
    if data.get("shipmentId") in (None, ""):
        raise MappingError("a shipment without shipmentId", where=where)
    lines = _lines(data.get("shipmentItems"), sku_map, where)
    try:
        shipment = Shipment(
            carrier=str(data.get("carrierCode") or ""),
            service=str(data.get("serviceCode") or ""),
            tracking_number=str(data.get("trackingNumber") or ""),
            external_id=str(data["shipmentId"]),
            shipped_at=shipped_at(data),
            lines=lines,
        )
    except (ValueError, ValidationError) as exc:
        raise MappingError(f"shipment {data.get('shipmentId')}: {exc}"[:500], where=where) from None
    return ProviderShipment(order_key=order_key, shipment=shipment, voided=bool(data.get("voided")))


def map_provider_order(record: RawRecord) -> ProviderOrderStatus:
    """One ShipStation order (ORDER_NOTIFY, or the cancelled-orders pull) as ProviderOrderStatus (pure)."""
    data = _load(record)
    order_key = _order_key(data, "an order", record.source)
    status = str(data.get("orderStatus") or "")
    if not status:
        raise MappingError(f"order {data.get('orderId')} has no orderStatus", where=record.source)
    modified = data.get("modifyDate")
    try:
        modified_at = parse_time(str(modified)) if modified else None
    except ValueError as exc:
        raise MappingError(
            f"order {data.get('orderId')}: modifyDate {modified!r}: {exc}", where=record.source
        ) from None
    return ProviderOrderStatus(order_key, str(data.get("orderId") or ""), status, modified_at)


def _record(stream: str, id_field: str, what: str, data: Any, source: str, delivery_id: str | None) -> RawRecord:
    body = dumps_exact(data).decode("utf-8")
    if not isinstance(data, dict):
        return RawRecord(stream, source, body, problem=f"not a ShipStation {what}", delivery_id=delivery_id)
    ident = data.get(id_field)
    return RawRecord(stream, source, body, external_id=str(ident) if ident else None, delivery_id=delivery_id)


def shipment_record(data: Any, source: str, delivery_id: str | None = None) -> RawRecord:
    return _record(SHIPMENTS, "shipmentId", "shipment", data, source, delivery_id)


def order_record(data: Any, source: str, delivery_id: str | None = None) -> RawRecord:
    return _record(PROVIDER_ORDERS, "orderKey", "order", data, source, delivery_id)
