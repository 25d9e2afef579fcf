"""The canonical domain. Knows no database and no vendor."""

from channelhub.model.lifecycle import LifecycleEvent, OrderState
from channelhub.model.money import Money, MoneyBag
from channelhub.model.orders import (
    Address,
    ChannelFulfillment,
    Customer,
    Discount,
    FinancialStatus,
    Order,
    OrderLine,
    Refund,
    ShippingLine,
    TaxLine,
    Totals,
)
from channelhub.model.returns import Return
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.model.stock import BufferRules, StockLevel, sellable_quantity

__all__ = [
    "Address",
    "BufferRules",
    "ChannelFulfillment",
    "Customer",
    "Discount",
    "FinancialStatus",
    "LifecycleEvent",
    "Money",
    "MoneyBag",
    "Order",
    "OrderLine",
    "OrderState",
    "Refund",
    "Return",
    "Shipment",
    "ShipmentLine",
    "ShippingLine",
    "StockLevel",
    "TaxLine",
    "Totals",
    "sellable_quantity",
]
