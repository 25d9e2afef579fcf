"""The table from a Shopify mutation's userError code to what the hub does next (DESIGN.md, "Errors": each
connector keeps such a table). One row per code of the payload's userErrors `code` enum in the pinned schema
(2026-10); a test reads the enums from the schema, so a code Shopify adds is a failing test, not a silent default.

Outcomes:
- STALE: the compare-and-set failed (inventory.py re-reads and decides: re-send lower, or report drift);
- RETRY: the same write later may succeed (a concurrent request with the same key, a limit, Shopify's own error);
- SKIP: Shopify refuses this record and will again: the write goes dead at once with Shopify's message;
- FATAL: the channel's settings or the app's permissions are wrong: stop the channel, tell a person;
- BUG: the hub sent what it never should (a key reused for other parameters, a field it always fills): dead at
  once, with a message that says it is a hub bug, and logged as an error.
Mutations whose userErrors carry no code (fulfillmentCreate, refundCreate, webhookSubscriptionCreate and
webhookSubscriptionDelete: plain `UserError`) have no table: every
userError of theirs is SKIP, with Shopify's message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    STALE = "stale"
    RETRY = "retry"
    SKIP = "skip"
    FATAL = "fatal"
    BUG = "bug"


INVENTORY_SET_QUANTITIES = {
    "CHANGE_FROM_QUANTITY_STALE": Outcome.STALE,
    "COMPARE_QUANTITY_STALE": Outcome.STALE,  # the compare's older name (compareQuantity): the same check
    "COMPARE_QUANTITY_REQUIRED": Outcome.BUG,  # the hub sends changeFromQuantity on every quantity
    "IDEMPOTENCY_CONCURRENT_REQUEST": Outcome.RETRY,  # the same key is in flight: its result comes on a retry
    "IDEMPOTENCY_KEY_PARAMETER_MISMATCH": Outcome.BUG,  # a key reused for other quantities: keys hold the quantity
    "IDEMPOTENCY_PREVIOUS_ATTEMPT_FAILED": Outcome.SKIP,  # the key's first attempt failed; Shopify repeats that
    "INVALID_INVENTORY_ITEM": Outcome.SKIP,
    "INVALID_LOCATION": Outcome.FATAL,  # settings.location_id names no location of the shop
    "INVALID_NAME": Outcome.BUG,  # the hub always sets "available"
    "INVALID_QUANTITY_NEGATIVE": Outcome.BUG,  # the hub never publishes below zero
    "INVALID_QUANTITY_TOO_HIGH": Outcome.SKIP,
    "INVALID_QUANTITY_TOO_LOW": Outcome.SKIP,
    "INVALID_REASON": Outcome.FATAL,  # settings.inventory_reason is not one of Shopify's reasons
    "INVALID_REFERENCE_DOCUMENT": Outcome.BUG,  # the hub's channelhub://outbox/... URI
    "NON_MUTABLE_INVENTORY_ITEM": Outcome.SKIP,  # a bundle's parent: Shopify computes it
    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR": Outcome.BUG,  # the dispatcher coalesces a SKU to one row
}

ORDER_CANCEL = {
    "INTERNAL_ERROR": Outcome.RETRY,
    "INVALID": Outcome.SKIP,  # fulfilled, a pending authorization, an active return...: Shopify's message says
    "NOT_FOUND": Outcome.SKIP,
    "NO_REFUND_PERMISSION": Outcome.FATAL,  # the app lacks the permission
    "NO_REFUND_TO_STORE_CREDIT_PERMISSION": Outcome.FATAL,
    "STORE_CREDIT_REFUND_B2B_NOT_SUPPORTED": Outcome.BUG,  # the hub never refunds to store credit
    "STORE_CREDIT_REFUND_EXPIRATION_IN_PAST": Outcome.BUG,
    "STORE_CREDIT_REFUND_MISSING_CUSTOMER": Outcome.BUG,
}

BULK_OPERATION_RUN_QUERY = {
    "INVALID": Outcome.BUG,  # the hub's bulk query (queries.BULK_ORDERS) does not pass Shopify's bulk rules
    "LIMIT_REACHED": Outcome.RETRY,  # the shop runs as many bulk operations as it may
    "OPERATION_IN_PROGRESS": Outcome.RETRY,
}

# mutation field -> its table; None: the payload's userErrors have no code (every one is SKIP)
TABLES: dict[str, Mapping[str, Outcome] | None] = {
    "inventorySetQuantities": INVENTORY_SET_QUANTITIES,
    "orderCancel": ORDER_CANCEL,
    "bulkOperationRunQuery": BULK_OPERATION_RUN_QUERY,
    "fulfillmentCreate": None,
    "refundCreate": None,
    "webhookSubscriptionCreate": None,
    "webhookSubscriptionDelete": None,
}


def outcome(table: Mapping[str, Outcome] | None, error: Mapping[str, Any]) -> Outcome:
    """What to do about one userError. A code the table lacks (a newer API version's) is SKIP: Shopify refused."""
    if table is None:
        return Outcome.SKIP
    return table.get(str(error.get("code") or ""), Outcome.SKIP)


def worst(table: Mapping[str, Outcome] | None, errors: Iterable[Mapping[str, Any]]) -> Outcome:
    """The outcome that decides for a call's errors together: FATAL over BUG over SKIP over RETRY over STALE."""
    order = [Outcome.FATAL, Outcome.BUG, Outcome.SKIP, Outcome.RETRY, Outcome.STALE]
    found = {outcome(table, e) for e in errors}
    return next((o for o in order if o in found), Outcome.SKIP)


def describe(errors: Iterable[Mapping[str, Any]], table: Mapping[str, Outcome] | None = None) -> str:
    """Shopify's words, code first; a BUG code says so loudly (and is logged as an error)."""
    parts = []
    for e in errors:
        text = f"{e.get('code') or 'userError'}: {e.get('message')}"
        if outcome(table, e) is Outcome.BUG:
            text = f"a hub bug, Shopify refused what the hub must never send ({text})"
            log.error("Shopify userError that means a hub bug: %s", text)
        parts.append(text)
    return "; ".join(parts)
