"""Canonical orders and fulfilment requests to hand the ShipStation connector (tests, contract, benchmark)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from channelhub.model.customs import CustomsDeclaration, CustomsItem, DutiesPaidBy
from channelhub.model.money import Money, MoneyBag
from channelhub.model.orders import Address, Customer, FinancialStatus, Order, OrderLine, Totals
from channelhub.ports import FulfillmentOrderRequest

PLACED = datetime(2024, 5, 31, 22, 30, tzinfo=UTC)  # 15:30 in Los Angeles (PDT, UTC-7)


def bag(amount: str, currency: str = "USD") -> MoneyBag:
    return MoneyBag.of(Decimal(amount), currency)


def order(number: int = 1001, *, country: str = "US", currency: str = "USD", channel: str = "shop") -> Order:
    """A confirmed two-line order shipping to `country`."""
    return Order(
        channel=channel,
        external_id=str(number),
        number=f"#{number}",
        placed_at=PLACED,
        updated_at=PLACED,
        paid_at=PLACED,
        currency=currency,
        financial_status=FinancialStatus.PAID,
        customer=Customer(email="ada@example.test", name="Ada Lovelace"),
        shipping_address=Address(
            name="Ada Lovelace",
            line1="1 Analytical Row",
            line2="Flat 2",
            city="Portland",
            region="OR",
            postal_code="97201",
            country=country,
            phone="+1 503 555 0100",
        ),
        lines=(
            OrderLine(
                external_id=f"{number}-1",
                sku="TEE-M",
                title="Tee",
                variant_title="M",
                quantity=2,
                unit_price=bag("19.90", currency),
            ),
            OrderLine(external_id=f"{number}-2", sku="MUG", title="Mug", quantity=1, unit_price=bag("0.10", currency)),
        ),
        totals=Totals(
            subtotal=bag("39.90", currency),
            shipping=bag("4.95", currency),
            tax=bag("3.19", currency),
            total=bag("48.04", currency),
        ),
        customer_note="leave at the door",
    )


def customs(currency: str = "USD", paid_by: DutiesPaidBy = DutiesPaidBy.SENDER) -> CustomsDeclaration:
    return CustomsDeclaration(
        items=(
            CustomsItem(
                sku="TEE-M",
                description="Cotton T-shirt",
                quantity=2,
                value=Money(amount=Decimal("19.90"), currency=currency),
                hs_code="610910",
                origin_country="PT",
                weight_grams=180,
            ),
            CustomsItem(
                sku="MUG",
                description="Ceramic mug",
                quantity=1,
                value=Money(amount=Decimal("0.10"), currency=currency),
                hs_code="691200",
                origin_country="CN",
                weight_grams=350,
            ),
        ),
        duties_paid_by=paid_by,
    )


def request(number: int = 1001, *, international: bool = False, channel: str = "shop") -> FulfillmentOrderRequest:
    the_order = order(number, country="CA" if international else "US", channel=channel)
    return FulfillmentOrderRequest(
        order_key=f"{channel}:{the_order.external_id}",
        order=the_order,
        idempotency_key=f"ful-order-{channel}-{number}",
        weights_grams={"TEE-M": 180, "MUG": 350},
        customs=customs() if international else None,
    )
