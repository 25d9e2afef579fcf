"""Sellable quantity per channel: what each channel may list of each SKU, read from the ledger.

A channel lists a SKU when its policy lists it (`ChannelStockPolicy.lists`) and the ledger knows the SKU: the
ledger does not speak for SKUs it has never held. Sellable = sum over the channel's locations of
(on_hand - reserved), minus the SKU's safety stock, floored at 0, then the channel's buffer rules.
Reading only: enqueueing the figures is `channelhub.sync.publish`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from channelhub.model.stock import sellable_quantity
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.sql import chunked
from channelhub.store.tables import LEVELS, SKUS

__all__ = ["sellable_by_channel"]


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
