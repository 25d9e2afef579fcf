"""The canonical model: exact money, checked codes, aware times, and a lifecycle that only moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from channelhub.errors import InvalidTransition
from channelhub.model import (
    Address,
    BufferRules,
    FinancialStatus,
    Money,
    MoneyBag,
    Order,
    OrderLine,
    OrderState,
    Totals,
    sellable_quantity,
)
from channelhub.model.lifecycle import is_forward


def _order(**overrides: object) -> Order:
    fields: dict[str, object] = {
        "channel": "shop",
        "external_id": "1001",
        "placed_at": datetime(2026, 11, 20, 8, 0, tzinfo=UTC),
        "updated_at": datetime(2026, 11, 20, 8, 5, tzinfo=UTC),
        "currency": "EUR",
        "financial_status": FinancialStatus.PAID,
        "lines": [
            OrderLine(external_id="1", sku="MUG", quantity=2, unit_price=MoneyBag.of("9.95", "EUR")),
        ],
        "totals": Totals(total=MoneyBag.of("19.90", "EUR")),
    }
    fields.update(overrides)
    return Order.model_validate(fields)


class TestMoney:
    def test_amounts_are_exact_decimals(self) -> None:
        total = Money(amount="0.10", currency="EUR") + Money(amount="0.20", currency="EUR")
        assert total.amount == Decimal("0.30")
        assert (Money(amount="9.95", currency="EUR") * 3).amount == Decimal("29.85")

    def test_floats_are_refused(self) -> None:
        with pytest.raises(ValidationError, match="not float"):
            Money(amount=0.1, currency="EUR")  # type: ignore[arg-type]

    def test_currency_must_be_iso_4217(self) -> None:
        assert Money(amount=1, currency="gbp").currency == "GBP"
        with pytest.raises(ValidationError, match="unknown ISO 4217 currency code: 'EUX'"):
            Money(amount=1, currency="EUX")

    def test_mixing_currencies_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="cannot combine EUR and USD"):
            Money(amount=1, currency="EUR") + Money(amount=1, currency="USD")

    def test_non_numeric_amount_names_the_value(self) -> None:
        with pytest.raises(ValidationError, match="not a decimal amount: '12,50'"):
            Money(amount="12,50", currency="EUR")


class TestOrder:
    def test_times_become_utc_and_naive_times_are_refused(self) -> None:
        cet = timezone(timedelta(hours=1))
        order = _order(placed_at=datetime(2026, 11, 20, 9, 0, tzinfo=cet))
        assert order.placed_at == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
        assert order.placed_at.tzinfo is UTC
        with pytest.raises(ValidationError, match="timezone"):
            _order(placed_at=datetime(2026, 11, 20, 9, 0))

    def test_country_must_be_iso_3166(self) -> None:
        assert Address(country="de").country == "DE"
        with pytest.raises(ValidationError, match="unknown ISO 3166 country code"):
            Address(country="XX")

    def test_an_order_needs_lines_with_positive_quantities_and_distinct_ids(self) -> None:
        with pytest.raises(ValidationError):
            _order(lines=[])
        with pytest.raises(ValidationError):
            OrderLine(external_id="1", sku="MUG", quantity=0, unit_price=MoneyBag.of(1, "EUR"))
        line = OrderLine(external_id="1", sku="MUG", quantity=1, unit_price=MoneyBag.of(1, "EUR"))
        with pytest.raises(ValidationError, match="distinct external ids"):
            _order(lines=[line, line])

    def test_round_trips_through_json_exactly(self) -> None:
        order = _order(presentment_currency="USD")
        again = Order.model_validate_json(order.model_dump_json())
        assert again == order
        assert again.lines[0].unit_price.shop.amount == Decimal("9.95")

    def test_financial_status_settled(self) -> None:
        assert FinancialStatus.PAID.settled and FinancialStatus.AUTHORIZED.settled
        assert not FinancialStatus.PENDING.settled and not FinancialStatus.VOIDED.settled


class TestLifecycle:
    def test_forward_moves_apply(self) -> None:
        assert is_forward(OrderState.PLACED, OrderState.CONFIRMED)
        assert is_forward(OrderState.CONFIRMED, OrderState.PARTIALLY_SHIPPED)
        assert is_forward(OrderState.PARTIALLY_SHIPPED, OrderState.SHIPPED)
        assert is_forward(OrderState.SHIPPED, OrderState.DELIVERED)
        assert is_forward(OrderState.DELIVERED, OrderState.RETURN_REQUESTED)

    def test_late_or_repeated_events_never_move_back(self) -> None:
        assert not is_forward(OrderState.DELIVERED, OrderState.SHIPPED)
        assert not is_forward(OrderState.SHIPPED, OrderState.SHIPPED)
        assert not is_forward(OrderState.SHIPPED, OrderState.CONFIRMED)
        assert not is_forward(OrderState.CANCELLED, OrderState.CONFIRMED)

    def test_holds_pause_and_lift(self) -> None:
        assert is_forward(OrderState.PLACED, OrderState.ON_HOLD)
        assert is_forward(OrderState.ON_HOLD, OrderState.CONFIRMED)
        assert not is_forward(OrderState.SHIPPED, OrderState.ON_HOLD)  # stale hold after fulfilment began

    def test_forbidden_moves_raise(self) -> None:
        with pytest.raises(InvalidTransition, match="cannot cancel an order that is shipped"):
            is_forward(OrderState.SHIPPED, OrderState.CANCELLED)
        assert is_forward(OrderState.PACKED, OrderState.CANCELLED)


class TestSellable:
    @pytest.mark.parametrize(
        ("on_hand", "reserved", "safety", "rules", "expected"),
        [
            (10, 3, 0, BufferRules(), 7),
            (10, 3, 2, BufferRules(), 5),
            (10, 12, 0, BufferRules(), 0),  # never negative
            (100, 0, 0, BufferRules(percentage=50), 50),
            (100, 0, 0, BufferRules(percentage=50, max_listed=20), 20),
            (3, 0, 0, BufferRules(zero_below=4), 0),
            (7, 0, 0, BufferRules(percentage=50), 3),  # rounds down: never list a unit we may not have
        ],
    )
    def test_sellable_quantity(
        self, on_hand: int, reserved: int, safety: int, rules: BufferRules, expected: int
    ) -> None:
        assert sellable_quantity(on_hand, reserved, safety, rules) == expected
