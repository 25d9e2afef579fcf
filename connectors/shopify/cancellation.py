"""The hub's own cancellations out: `orderCancel` (Admin GraphQL 2026-10), made safe to repeat by reading first.

1. Read the order (ORDER_CANCEL_STATE). No such order: Skippable. Already cancelled (an earlier try whose answer
   was lost, a restart, or a cancel made in Shopify's admin): done, nothing sent. orderCancel has no documented
   idempotency key, so this read is what keeps a retry from cancelling twice.
2. `orderCancel` with
   - `restock: false`: the hub releases the order's reservation and publishes its own sellable figure; a restock
     by Shopify would add the units a second time on top of what the hub publishes.
   - no refund: the schema's `refund` argument is deprecated for `refundMethod` (OrderCancelRefundMethodInput, a
     @oneOf of originalPaymentMethodsRefund | storeCreditRefund); the hub sends
     `refundMethod: {originalPaymentMethodsRefund: false}` and never store credit, so no money moves. Refunds are a
     separate capability (push_refund). The schema also says an authorised, uncaptured payment is voided whatever
     these say: that releases a hold, it refunds nothing.
   - `reason`: the hub's free text mapped to the nearest OrderCancelReason (`cancel_reason`, OTHER by default), the
     text itself in `staffNote` (staff-only, at most 255 characters), `notifyCustomer` from the settings.
3. The answer. orderCancelUserErrors (or a jobResult already FAILED): read the order again; if it is cancelled
   after all (it was cancelled between the read and the mutation, Shopify's "already cancelled") the write is
   done. Otherwise the error table decides (`user_errors.ORDER_CANCEL`): INTERNAL_ERROR is Retryable, a missing
   refund permission Fatal, anything else (fulfilled, a pending payment authorization, an active return...)
   Skippable with Shopify's own message.

What the hub relies on: orderCancel is asynchronous. It answers with a Job; an answer without user errors whose
jobResult is not FAILED means Shopify has accepted the cancellation and carries it out itself. The connector
does not poll the job (no waiting in a connector: time belongs to the dispatcher); the order's `cancelledAt`
comes back through the normal pull and the orders/cancelled webhook. A job that fails after accepting leaves the
order open at Shopify; a later try of this write (a replay from the CLI) reads it as not cancelled and sends again.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from channelhub_connectors.shopify import queries, user_errors
from channelhub_connectors.shopify.client import ShopifyClient
from channelhub_connectors.shopify.shapes import numeric_id
from channelhub_connectors.shopify.user_errors import Outcome, describe, worst

from channelhub.errors import Fatal, Retryable, Skippable
from channelhub.ports import CancellationRequest

log = logging.getLogger(__name__)

STAFF_NOTE_MAX = 255  # the schema's limit on staffNote
REASONS = ("CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF")  # OrderCancelReason, 2026-10
# First match wins, most specific first: "customer reported fraud" is FRAUD, "payment declined by the bank" DECLINED.
_REASON_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("FRAUD", re.compile(r"fraud|chargeback|stolen|suspicious", re.I)),
    ("DECLINED", re.compile(r"declin|payment (failed|refused)|card (refused|rejected)|unpaid|not paid", re.I)),
    ("INVENTORY", re.compile(r"stock|inventory|unavailable|oversold|sold out|discontinued", re.I)),
    ("STAFF", re.compile(r"staff|mistake|error|duplicate|wrong (order|entry)|test order", re.I)),
    ("CUSTOMER", re.compile(r"customer|buyer|shopper|client|requested|changed (their|his|her) mind", re.I)),
)


def cancel_reason(text: str) -> str:
    """The OrderCancelReason nearest to the hub's free-text reason: the enum name itself, else a keyword, else
    OTHER (which Shopify documents as "an unlisted reason")."""
    plain = text.strip()
    if plain.upper() in REASONS:
        return plain.upper()
    for reason, words in _REASON_WORDS:
        if words.search(plain):
            return reason
    return "OTHER"


def push_cancellation(client: ShopifyClient, request: CancellationRequest, *, notify: bool, where: str) -> bool:
    """Cancel the order at Shopify. Returns True when this call sent the cancellation, False when Shopify showed
    it cancelled already; raises Skippable when Shopify will not cancel it (see the module docstring)."""
    gid = f"gid://shopify/Order/{numeric_id(request.order_external_id)}"
    here = f"{where}, order {request.order_number or request.order_external_id}"
    if _is_cancelled(client, gid, here):
        log.info("%s: already cancelled at Shopify, nothing sent", here)
        return False
    answer = client.execute(queries.ORDER_CANCEL, _variables(gid, request, notify)).get("orderCancel") or {}
    errors = list(answer.get("orderCancelUserErrors") or [])
    result = answer.get("jobResult") or {}
    if not errors and result.get("status") == "FAILED":
        errors = list(result.get("errors") or []) or [{"message": "Shopify's cancellation job failed"}]
    if errors:
        _refused(client, gid, errors, here)
        return False
    return True


def _variables(gid: str, request: CancellationRequest, notify: bool) -> dict[str, Any]:
    note = request.reason.strip()[:STAFF_NOTE_MAX] or None
    return {
        "orderId": gid,
        "reason": cancel_reason(request.reason),
        "restock": False,  # the hub restocks and publishes its own figure
        "notifyCustomer": notify,
        "staffNote": note,
        "refundMethod": {"originalPaymentMethodsRefund": False},  # no money moves: refunds are push_refund's
    }


def _is_cancelled(client: ShopifyClient, gid: str, where: str) -> bool:
    order = client.execute(queries.ORDER_CANCEL_STATE, {"id": gid}).get("order")
    if not order:
        raise Skippable(f"Shopify has no order {gid}", where=where)
    return bool(order.get("cancelledAt"))


def _refused(client: ShopifyClient, gid: str, errors: list[dict[str, Any]], where: str) -> None:
    """Done when the order turns out cancelled after all; otherwise raise what the errors call for."""
    if _is_cancelled(client, gid, where):
        log.info("%s: Shopify answered %s but shows the order cancelled: done", where, _messages(errors))
        return
    decided = worst(user_errors.ORDER_CANCEL, errors)
    message = f"Shopify will not cancel the order: {describe(errors, user_errors.ORDER_CANCEL)}"
    if decided is Outcome.RETRY:
        raise Retryable(message, where=where)
    if decided is Outcome.FATAL:
        raise Fatal(message, where=where)
    raise Skippable(message, where=where)


def _messages(errors: list[dict[str, Any]]) -> str:
    return "; ".join(str(e.get("message") or e.get("code") or "?") for e in errors)
