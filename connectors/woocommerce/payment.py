"""The WooCommerce status word and payment facts -> the canonical financial and fulfilment status (pure).

The status word alone does not say whether the money is in: a cash-on-delivery order is `processing` from
checkout (the COD gateway sets it so the order ships; WooCommerce issues #10522, #29471), and `processing` is
"payment received" only for the gateways that call `payment_complete()`. Since WooCommerce 3.0 the payment date
(`date_paid`) is set when an order reaches its "payment complete" status, and for COD that status is filtered
to `completed` (issue #14775 and its fix), so a COD order gets its `date_paid` when the merchant marks it
completed, i.e. when the cash was collected. Hence, with `date_paid_gmt` as the payment fact:

    status                 date_paid   transaction_id   financial      notes
    processing             set         any              PAID
    processing             none        set              PAID           a gateway recorded its charge
    processing             none        none             PENDING        COD, bank transfer, cheque, manual
    completed              any         any              PAID           none only for orders from before 3.0/3.6
                                                                       or edited around WooCommerce: the merchant
                                                                       marked it done, the money is taken as in
    on-hold                set         any              PAID           + hold_reason (paid, held by the merchant)
    on-hold                none        set              AUTHORIZED     + hold_reason (authorise-only gateways
                                                                       leave the charge uncaptured on-hold)
    on-hold                none        none             PENDING        + hold_reason (awaiting a transfer...)
    pending                -           -                PENDING        awaiting payment
    cancelled, failed, trash            VOIDED + cancelled_at
    refunded                            REFUNDED + cancelled_at
    anything else                       PENDING + hold_reason naming the status

The core's payment gate then holds an unsettled order "awaiting payment" unless its `payment_method` ("cod",
"bacs", ...) is one the channel ships before payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from channelhub.errors import MappingError
from channelhub.model.orders import ChannelFulfillment, FinancialStatus

RELEASING = {
    "cancelled": FinancialStatus.VOIDED,
    "failed": FinancialStatus.VOIDED,
    "trash": FinancialStatus.VOIDED,
    "refunded": FinancialStatus.REFUNDED,
}
ON_HOLD_REASON = "on-hold at WooCommerce (awaiting payment confirmation or the merchant's review)"


@dataclass(frozen=True)
class StatusFacts:
    financial: FinancialStatus
    fulfillment: ChannelFulfillment
    hold_reason: str = ""
    cancelled_at: datetime | None = None
    paid_at: datetime | None = None


def status_facts(order: Mapping[str, Any], updated_at: datetime, where: str) -> StatusFacts:
    """The canonical status of `order` from its status word and payment facts (see the module docstring)."""
    status = str(order.get("status") or "")
    paid_at = optional_gmt(order, "date_paid", where)
    charged = bool(str(order.get("transaction_id") or "").strip())
    unshipped = ChannelFulfillment.UNFULFILLED
    if status in RELEASING:
        # WooCommerce keeps no cancellation time: the modification that set the status is the best we know.
        return StatusFacts(RELEASING[status], unshipped, cancelled_at=updated_at, paid_at=paid_at)
    if status == "completed":
        return StatusFacts(FinancialStatus.PAID, ChannelFulfillment.FULFILLED, paid_at=paid_at)
    if status == "processing":
        paid = paid_at is not None or charged
        return StatusFacts(FinancialStatus.PAID if paid else FinancialStatus.PENDING, unshipped, paid_at=paid_at)
    if status == "on-hold":
        financial = (
            FinancialStatus.PAID
            if paid_at is not None
            else FinancialStatus.AUTHORIZED
            if charged
            else FinancialStatus.PENDING
        )
        return StatusFacts(financial, unshipped, hold_reason=ON_HOLD_REASON, paid_at=paid_at)
    if status == "pending":
        return StatusFacts(FinancialStatus.PENDING, unshipped, paid_at=paid_at)
    reason = f"unknown WooCommerce order status {status!r}: held until someone decides what it means"
    return StatusFacts(FinancialStatus.PENDING, unshipped, hold_reason=reason, paid_at=paid_at)


def gmt(order: Mapping[str, Any], name: str, where: str) -> datetime:
    """`<name>_gmt` as aware UTC (WooCommerce writes it without an offset); `<name>` alone is store-local, so it
    is never used."""
    value = optional_gmt(order, name, where)
    if value is None:
        raise MappingError(f"order {order.get('id')}: {name}_gmt is missing", where=where)
    return value


def optional_gmt(order: Mapping[str, Any], name: str, where: str) -> datetime | None:
    """Like `gmt`, None when the store left the date out (`date_paid` of an unpaid order)."""
    raw = order.get(f"{name}_gmt")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise MappingError(f"order {order.get('id')}: {name}_gmt is not a date: {raw!r}", where=where) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
