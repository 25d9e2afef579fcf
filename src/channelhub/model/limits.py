"""What the store can hold: the bounds every canonical value is checked against when it is mapped.

A value outside them (a quantity of 10^23, an amount of 1e400, an id longer than its column) is refused by the
model, so the record is quarantined with the reason instead of failing the page's transaction in the database
(which would block every record after it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from channelhub.model.orders import Order

# Quantities live in 32-bit integer columns (PostgreSQL INTEGER).
MAX_QUANTITY = 2**31 - 1
# A channel's line quantity above this is quarantined unless the channel's `max_line_quantity` says otherwise.
DEFAULT_MAX_LINE_QUANTITY = 10_000
# Amounts are exact decimals, stored as text and summed in Decimal's default context of 28 significant digits:
# an amount may have at most 15 digits before the point (a quadrillion in any currency) and 28 significant
# digits in all, none of them beyond the 28th place after the point. 1e400 is refused: adding a cent to it
# would round silently.
MAX_AMOUNT_INTEGER_DIGITS = 15
MAX_AMOUNT_DIGITS = 28
# String columns: channel names, external ids, SKUs, order numbers.
MAX_CHANNEL_LENGTH = 100
MAX_ID_LENGTH = 200
MAX_NUMBER_LENGTH = 100


def order_problems(order: Order, *, max_line_quantity: int = DEFAULT_MAX_LINE_QUANTITY) -> list[str]:
    """Why a canonical order must not be applied under a channel's rules (empty when it may): a line quantity
    above the channel's `max_line_quantity` (a typo of 10,000 units would reserve a warehouse)."""
    return [
        f"line {line.external_id} ('{line.sku or line.title}'): quantity {line.quantity} is above this channel's "
        f"max_line_quantity of {max_line_quantity}"
        for line in order.lines
        if line.quantity > max_line_quantity
    ]
