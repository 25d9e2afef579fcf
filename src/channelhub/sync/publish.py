"""Publishing: every change to a SKU's sellable quantity enqueues, in the same transaction, one stock write per
channel that lists the SKU (DESIGN.md flow 3). The figures come from `channelhub.stock.sellable`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channelhub.stock.policy import ChannelStockPolicy
from channelhub.stock.sellable import sellable_by_channel
from channelhub.store.sql import chunked
from channelhub.store.tables import OUTBOX
from channelhub.sync.outbox import Write, enqueue_many, idempotency_key

__all__ = ["STOCK_KIND", "publish"]

STOCK_KIND = "stock"


def publish(session: Session, skus: Iterable[str], policies: Sequence[ChannelStockPolicy], cause: str) -> int:
    """Enqueue a stock write {"sku", "quantity"} per (channel that lists the SKU, SKU); return rows enqueued.

    Runs in the caller's transaction, so the rows commit with the change that caused them. `cause` names that
    change ("orders:shop:page 3", "movement:456"); it is made unique with the outbox's highest id, which every
    publish raises, and with the quantity it makes each row's idempotency key. So keys stay reproducible (a test
    replaying recorded channel answers sees the same keys in a fresh database), two changes never share a key
    unless they publish the same quantity, and the same cause with another quantity is a new write, never a lost
    one. Not filtered against what the channel confirmed (the dispatcher does that), but a row is skipped when
    the latest pending stock row for the same (channel, sku) already carries the same quantity.
    """
    if not cause:
        raise ValueError("publish needs a cause: it makes the outbox idempotency keys")
    skus = set(skus)
    if not skus or not policies:
        return 0
    sellable = sellable_by_channel(session, skus, policies)
    wanted = [(channel, sku, qty) for channel, by_sku in sellable.items() for sku, qty in sorted(by_sku.items())]
    if not wanted:
        return 0
    high_water = session.scalar(select(func.max(OUTBOX.c.id))) or 0
    unique = f"{cause[:120]}@{high_water}"
    latest = _latest_pending(session, {channel for channel, _, _ in wanted}, {sku for _, sku, _ in wanted})
    causes = {(channel, sku): f"{unique}={quantity}" for channel, sku, quantity in wanted}
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

    ONE grouped read over the channels' pending stock rows, whatever the number of SKUs: each IN-chunk of SKUs
    used to walk the same pending rows again (a pass per few hundred SKUs per page, growing with the outbox).
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
