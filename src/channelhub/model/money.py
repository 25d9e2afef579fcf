"""Money: a Decimal amount with an ISO 4217 currency code, never a float.

`MoneyBag` carries the same figure in the shop currency and in the currency the customer paid in
(Shopify's shopMoney/presentmentMoney); channels that know only one currency fill `shop` alone.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict

from channelhub.model.limits import MAX_AMOUNT_DIGITS, MAX_AMOUNT_INTEGER_DIGITS

ISO_4217_CODES: frozenset[str] = frozenset(c.alpha_3 for c in pycountry.currencies)


def _to_decimal(value: Any) -> Decimal:
    """Accept Decimal, int or a decimal string the store can hold exactly (`channelhub.model.limits`); refuse
    floats, which cannot hold cents exactly."""
    if isinstance(value, Decimal):
        return check_amount(value)
    if isinstance(value, (bool, float)):
        raise ValueError(f"money amounts must be Decimal, int or a decimal string, not {type(value).__name__}")
    if isinstance(value, int):
        return check_amount(Decimal(value))
    if isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {value[:40]!r}") from None
        return check_amount(result)
    raise ValueError(f"not a money amount: {value!r}"[:80])


def check_amount(value: Decimal) -> Decimal:
    """`value`, when it is finite and within the stored precision; else ValueError saying which bound it breaks."""
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {value}")
    if not value:
        return value
    if value.adjusted() >= MAX_AMOUNT_INTEGER_DIGITS:
        limit = MAX_AMOUNT_INTEGER_DIGITS
        raise ValueError(f"amount {value:.6g} is too large (at most {limit} digits before the point)")
    _sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    if len(digits) > MAX_AMOUNT_DIGITS or exponent < -MAX_AMOUNT_DIGITS:
        raise ValueError(f"amount {value:.6g} is more precise than the store keeps ({MAX_AMOUNT_DIGITS} digits)")
    return value


DecimalAmount = Annotated[Decimal, BeforeValidator(_to_decimal)]


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code or raise ValueError naming it."""
    if code in ISO_4217_CODES:  # nearly every code arrives upper-cased already
        return code
    upper = code.strip().upper()
    if upper not in ISO_4217_CODES:
        raise ValueError(f"unknown ISO 4217 currency code: {code!r}")
    return upper


# A plain function validator (no classmethod frame in between): every MoneyBag of an order runs it.
CurrencyCode = Annotated[str, AfterValidator(check_currency)]


class Money(BaseModel):
    """An exact amount in one currency. Arithmetic refuses to mix currencies."""

    model_config = ConfigDict(frozen=True)

    amount: DecimalAmount
    currency: CurrencyCode

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=Decimal(0), currency=currency)

    def __add__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money.model_construct(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same_currency(other)
        return Money.model_construct(amount=self.amount - other.amount, currency=self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        if isinstance(factor, float):
            raise TypeError("multiply money by int or Decimal, not float")
        return Money.model_construct(amount=self.amount * factor, currency=self.currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency}")

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


class MoneyBag(BaseModel):
    """One figure in the shop currency and, when the channel reports it, the presentment currency."""

    model_config = ConfigDict(frozen=True)

    shop: Money
    presentment: Money | None = None

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> MoneyBag:
        return cls(shop=Money(amount=amount, currency=currency))
