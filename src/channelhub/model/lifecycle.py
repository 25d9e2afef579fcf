"""The order lifecycle: states, the checked transitions between them, and the events that record them.

    placed -> confirmed -> picking -> packed -> partially_shipped -> shipped -> delivered
           -> return_requested -> returned -> refunded
    beside the line: on_hold (from placed or confirmed; released back to where it was) and cancelled.

Transitions are monotonic: a target that ranks at or below the current state is *stale* and changes nothing
(a delivered order stays delivered when an old "shipped" webhook arrives). Only a hold may be lifted back to an
earlier rank, because a hold is not progress. A move the lifecycle forbids (cancelling a shipped order, say)
raises `InvalidTransition`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from channelhub.errors import InvalidTransition


class OrderState(StrEnum):
    PLACED = "placed"
    ON_HOLD = "on_hold"
    CONFIRMED = "confirmed"
    PICKING = "picking"
    PACKED = "packed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    RETURN_REQUESTED = "return_requested"
    RETURNED = "returned"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


# Progress along the main line. on_hold shares placed's rank: it is a pause, not a step.
RANK: dict[OrderState, int] = {
    OrderState.PLACED: 0,
    OrderState.ON_HOLD: 0,
    OrderState.CONFIRMED: 1,
    OrderState.PICKING: 2,
    OrderState.PACKED: 3,
    OrderState.PARTIALLY_SHIPPED: 4,
    OrderState.SHIPPED: 5,
    OrderState.DELIVERED: 6,
    OrderState.RETURN_REQUESTED: 7,
    OrderState.RETURNED: 8,
    OrderState.REFUNDED: 9,
}

# States from which an order can still be cancelled: nothing has left the building.
CANCELLABLE = frozenset(
    {OrderState.PLACED, OrderState.ON_HOLD, OrderState.CONFIRMED, OrderState.PICKING, OrderState.PACKED}
)
# States from which a hold may be placed: stock or payment is not settled yet.
HOLDABLE = frozenset({OrderState.PLACED, OrderState.CONFIRMED})
TERMINAL = frozenset({OrderState.CANCELLED, OrderState.REFUNDED})


class LifecycleEvent(BaseModel):
    """One recorded transition: when, from where, to where, who said so and why."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    from_state: OrderState | None
    to_state: OrderState
    source: str
    reason: str = ""


def is_forward(current: OrderState, target: OrderState) -> bool:
    """True when moving `current` to `target` is progress (the caller should apply it).

    False means the move is stale or repeated and must be ignored. Raises InvalidTransition for a move the
    lifecycle forbids outright.
    """
    if current == target:
        return False
    if current == OrderState.CANCELLED:
        return False  # terminal: a late update never revives a cancelled order
    if target == OrderState.CANCELLED:
        if current in CANCELLABLE:
            return True
        raise InvalidTransition(f"cannot cancel an order that is {current.value}")
    if target == OrderState.ON_HOLD:
        if current in HOLDABLE:
            return True
        if RANK[current] > RANK[OrderState.CONFIRMED]:
            return False  # a hold reason arriving after fulfilment began is stale
        raise InvalidTransition(f"cannot hold an order that is {current.value}")
    if current == OrderState.ON_HOLD:
        return True  # lifting a hold: to placed, confirmed or any later state
    return RANK[target] > RANK[current]
