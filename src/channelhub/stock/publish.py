"""Sellable quantity per channel, and enqueueing it to the outbox in the caller's transaction.

A channel lists a SKU when its policy lists it (`ChannelStockPolicy.lists`) and the ledger knows the SKU: the
ledger does not speak for SKUs it has never held. Sellable = sum over the channel's locations of
(on_hand - reserved), minus the SKU's safety stock, floored at 0, then the channel's buffer rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channelhub.model.stock import sellable_quantity
from channelhub.stock._sql import LEVELS, OUTBOX, SKUS, chunked
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.sync.outbox import Write, enqueue_many, idempotency_key

__all__ = ["publish", "sellable_by_channel"]

STOCK_KIND = "stock"


def sellable_by_channel(
    session: Session, skus: Iterable[str], policies: Sequence[ChannelStockPolicy]
) -> dict[str, dict[str, int]]:
    """{channel: {sku: sellable}} for every given SKU each channel lists; SKUs the ledger does not know are left
    out. Reads all SKUs with one query (per chunk of a few hundred), whatever the number of channels."""
    wanted = sorted(set(skus))
    session.flush()  # Core reads do not autoflush; see the caller's pending changes
    safety: dict[str, int] = {}
    per_location: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for chunk in chunked(wanted):
        rows = session.execute(
            select(SKUS.c.sku, SKUS.c.safety_stock, LEVELS.c.location, LEVELS.c.on_hand, LEVELS.c.reserved)
            .select_from(SKUS.outerjoin(LEVELS, LEVELS.c.sku == SKUS.c.sku))
            .where(SKUS.c.sku.in_(chunk))
        )
        for sku, safety_stock, location, on_hand, reserved in rows:
            safety[sku] = safety_stock
            if location is not None:
                per_location[sku].append((location, on_hand, reserved))

    result: dict[str, dict[str, int]] = {}
    for policy in policies:
        allowed = None if policy.locations is None else set(policy.locations)
        quantities: dict[str, int] = {}
        for sku in wanted:
            if sku not in safety or not policy.lists(sku):
                continue
            on_hand = reserved = 0
            for location, loc_on_hand, loc_reserved in per_location[sku]:
                if allowed is None or location in allowed:
                    on_hand += loc_on_hand
                    reserved += loc_reserved
            quantities[sku] = sellable_quantity(on_hand, reserved, safety[sku], policy.buffers)
        result[policy.channel] = quantities
    return result


def publish(session: Session, skus: Iterable[str], policies: Sequence[ChannelStockPolicy], cause: str) -> int:
    """Enqueue a stock write {"sku", "quantity"} per (channel that lists the SKU, SKU); return rows enqueued.

    Runs in the caller's transaction, so the rows commit with the change that caused them. `cause` names that
    change ("order:123", "movement:456") and, with the quantity, makes each row's idempotency key: a key already
    queued is not queued again, and the same cause with another quantity is a new write, never a lost one.
    Not filtered against what the channel confirmed (the dispatcher does that), but a row is skipped when the
    latest pending stock row for the same (channel, sku) already carries the same quantity.
    """
    if not cause:
        raise ValueError("publish needs a cause: it makes the outbox idempotency keys")
    sellable = sellable_by_channel(session, skus, policies)
    wanted = [(channel, sku, qty) for channel, by_sku in sellable.items() for sku, qty in sorted(by_sku.items())]
    if not wanted:
        return 0
    latest = _latest_pending(session, {channel for channel, _, _ in wanted}, {sku for _, sku, _ in wanted})
    causes = {(channel, sku): f"{cause}={quantity}" for channel, sku, quantity in wanted}
    keys = {
        (channel, sku): idempotency_key(channel, STOCK_KIND, sku, causes[(channel, sku)]) for channel, sku, _ in wanted
    }
    queued = _existing_keys(session, list(keys.values()))
    writes = [
        Write(
            channel=channel,
            kind=STOCK_KIND,
            subject=sku,
            payload={"sku": sku, "quantity": quantity},
            cause=causes[(channel, sku)],
        )
        for channel, sku, quantity in wanted
        if latest.get((channel, sku)) != quantity and keys[(channel, sku)] not in queued
    ]
    enqueue_many(session, writes)
    return len(writes)


def _latest_pending(session: Session, channels: set[str], skus: set[str]) -> dict[tuple[str, str], int | None]:
    """The quantity of the newest pending stock row per (channel, sku) of `skus`.

    ONE grouped read over the channels' pending stock rows, whatever the number of SKUs: the outbox has no index
    on subject, so each IN-chunk of SKUs used to walk the same pending rows again (a pass per few hundred SKUs
    per page, growing with the outbox).
    """
    newest = (
        select(func.max(OUTBOX.c.id).label("id"))
        .where(OUTBOX.c.kind == STOCK_KIND, OUTBOX.c.status == "pending", OUTBOX.c.channel.in_(sorted(channels)))
        .group_by(OUTBOX.c.channel, OUTBOX.c.subject)
        .subquery()
    )
    rows = session.execute(
        select(OUTBOX.c.channel, OUTBOX.c.subject, OUTBOX.c.payload).join(newest, OUTBOX.c.id == newest.c.id)
    )
    latest: dict[tuple[str, str], int | None] = {}
    for channel, subject, payload in rows:
        if subject in skus:
            latest[(channel, subject)] = payload.get("quantity") if isinstance(payload, dict) else None
    return latest


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunked(keys):
        found.update(session.scalars(select(OUTBOX.c.idempotency_key).where(OUTBOX.c.idempotency_key.in_(chunk))))
    return found
