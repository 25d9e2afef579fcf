"""Stock out: set Shopify's "available" quantity with a compare-and-set, at most 250 quantities a call.

- SKU -> inventory item through `productVariants(query: "sku:...")`, cached for the connector's life and looked up
  again on a miss (a SKU created in Shopify after the first lookup is found on its first push).
- `inventorySetQuantities` with name "available", the configured reason, a `referenceDocumentUri` naming the
  outbox row(s) (`channelhub://outbox/<idempotency key>`, or `.../batch/<sha256 of the keys>` for several), an
  `@idempotent(key:)` derived from the same keys (a retried batch repeats its key; Shopify answers the first
  result), and on every quantity `changeFromQuantity` = the last quantity Shopify confirmed (`StockUpdate.previous`).
  When the hub never had a confirmation (previous None), the current quantity is read first and used instead:
  the hub never writes without a compare.

The stale rule (CHANGE_FROM_QUANTITY_STALE: Shopify holds another value than we last confirmed):
  re-read the current quantity Q for the stale items, then
  - Q == target: nothing to send, confirmed at Q;
  - target < Q: re-send once against Q (lowering is always safe: we list no more than Shopify already shows);
  - target > Q: do NOT overwrite. Shopify's quantity went down behind our back (most likely a Shopify sale the hub
    has not pulled yet; raising it now could oversell). Report drift as a retryable per-item error; the next pull
    reserves that sale, the hub publishes again, and the retry compares against the fresh value.
userErrors of other kinds fail their own item (by the index in `field`) as the error table says
(`user_errors.INVENTORY_SET_QUANTITIES`: retry later, dead, or a hub bug, dead and loud); an error without an
index fails the whole call's items; a FATAL one (a wrong location or reason in the settings) stops the
channel. A call with any userError applies nothing (the mutation is atomic), so the other items are re-sent in
the second round.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from channelhub_connectors.shopify import queries, user_errors
from channelhub_connectors.shopify.client import ShopifyClient
from channelhub_connectors.shopify.user_errors import Outcome, describe, outcome, worst

from channelhub.errors import Fatal
from channelhub.ports import StockUpdate, WriteResult

MAX_PER_CALL = 250
TABLE = user_errors.INVENTORY_SET_QUANTITIES


@dataclass
class _Item:
    update: StockUpdate
    item_id: str
    compare: int | None


def batch_key(keys: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


class InventoryWriter:
    def __init__(self, client: ShopifyClient, *, location_id: str | None, reason: str, where: str) -> None:
        self.client = client
        self.location_id = location_id
        self.reason = reason
        self.where = where
        self.items: dict[str, str] = {}  # sku -> inventory item gid
        self.set_calls = 0

    def _location(self) -> str:
        if not self.location_id:
            raise Fatal(
                "settings.location_id is not set: the hub does not know which location to stock", where=self.where
            )
        return self.location_id

    def resolve(self, skus: Iterable[str]) -> dict[str, str]:
        """sku -> inventoryItem gid, from the cache, looking the misses up (250 SKUs a query)."""
        wanted = sorted(set(skus))
        missing = [s for s in wanted if s not in self.items]
        for start in range(0, len(missing), MAX_PER_CALL):
            chunk = missing[start : start + MAX_PER_CALL]
            search = " OR ".join(f"sku:{_quote(s)}" for s in chunk)
            data = self.client.execute(queries.VARIANTS_BY_SKU, {"first": MAX_PER_CALL, "query": search})
            for node in (data.get("productVariants") or {}).get("nodes") or []:
                sku, item = node.get("sku"), (node.get("inventoryItem") or {}).get("id")
                if sku in chunk and item:
                    self.items[sku] = item
        return {s: self.items[s] for s in wanted if s in self.items}

    def current(self, item_ids: Sequence[str]) -> dict[str, int]:
        """inventoryItem gid -> Shopify's current "available" at the location (items not stocked there: absent)."""
        out: dict[str, int] = {}
        location = self._location()
        for start in range(0, len(item_ids), MAX_PER_CALL):
            chunk = list(item_ids[start : start + MAX_PER_CALL])
            data = self.client.execute(queries.INVENTORY_LEVELS, {"ids": chunk, "locationId": location})
            for node in data.get("nodes") or []:
                level = (node or {}).get("inventoryLevel") or {}
                for q in level.get("quantities") or []:
                    if q.get("name") == "available":
                        out[node["id"]] = int(q["quantity"])
        return out

    def push(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        if len(updates) > MAX_PER_CALL:
            raise Fatal(f"a stock batch of {len(updates)} exceeds Shopify's {MAX_PER_CALL}", where=self.where)
        location = self._location()
        results: dict[str, WriteResult] = {}
        known = self.resolve(u.sku for u in updates)
        items: list[_Item] = []
        for u in updates:
            if u.sku not in known:
                results[u.idempotency_key] = WriteResult(
                    u.idempotency_key, error=f"SKU {u.sku!r} matches no Shopify variant", retryable=False
                )
            else:
                items.append(_Item(u, known[u.sku], u.previous))
        unknown_before = [i for i in items if i.compare is None]
        if unknown_before:
            fresh = self.current([i.item_id for i in unknown_before])
            for i in unknown_before:
                i.compare = fresh.get(i.item_id)
        first_key = batch_key(u.idempotency_key for u in updates)
        retry = self._send(items, first_key, location, results, stale_ok=True)
        if retry:
            self._send(
                retry,
                f"{first_key}:again:{batch_key(f'{i.update.sku}={i.compare}' for i in retry)}",
                location,
                results,
                stale_ok=False,
            )
        return [results[u.idempotency_key] for u in updates]

    def _send(
        self, items: list[_Item], key: str, location: str, results: dict[str, WriteResult], *, stale_ok: bool
    ) -> list[_Item]:
        """One call; fills `results`; returns the items to send again (stale but safe, or held back by others)."""
        if not items:
            return []
        keys = [i.update.idempotency_key for i in items]
        uri = f"channelhub://outbox/{keys[0]}" if len(keys) == 1 else f"channelhub://outbox/batch/{batch_key(keys)}"
        variables = {
            "key": key,
            "input": {
                "name": "available",
                "reason": self.reason,
                "referenceDocumentUri": uri,
                "quantities": [
                    {
                        "inventoryItemId": i.item_id,
                        "locationId": location,
                        "quantity": i.update.quantity,
                        "changeFromQuantity": i.compare,
                    }
                    for i in items
                ],
            },
        }
        self.set_calls += 1
        data = self.client.execute(queries.SET_QUANTITIES, variables)
        errors = (data.get("inventorySetQuantities") or {}).get("userErrors") or []
        if not errors:
            for i in items:
                results[i.update.idempotency_key] = WriteResult(
                    i.update.idempotency_key, confirmed_quantity=i.update.quantity
                )
            return []
        if worst(TABLE, errors) is Outcome.FATAL:
            raise Fatal(f"inventorySetQuantities refused: {describe(errors, TABLE)}", where=self.where)
        failed: dict[int, dict] = {}
        general: list[dict] = []
        for err in errors:
            index = _index(err.get("field"))
            if index is None or index >= len(items):
                general.append(err)
            else:
                failed[index] = err
        if general:
            again_later = worst(TABLE, general) is Outcome.RETRY
            for i in items:
                results[i.update.idempotency_key] = WriteResult(
                    i.update.idempotency_key,
                    error="Shopify refused the batch: " + describe(general, TABLE),
                    retryable=again_later,
                )
            return []
        stale = [items[n] for n, err in failed.items() if outcome(TABLE, err) is Outcome.STALE]
        fresh = self.current([i.item_id for i in stale]) if stale else {}
        again: list[_Item] = []
        for n, i in enumerate(items):
            k = i.update.idempotency_key
            err = failed.get(n)
            if err is None:
                again.append(i)  # held back by the others' errors: nothing was applied
            elif outcome(TABLE, err) is not Outcome.STALE:
                results[k] = WriteResult(
                    k, error=describe([err], TABLE), retryable=outcome(TABLE, err) is Outcome.RETRY
                )
            else:
                q = fresh.get(i.item_id)
                if q is not None and q == i.update.quantity:
                    results[k] = WriteResult(k, confirmed_quantity=q)
                elif q is not None and i.update.quantity < q and stale_ok:
                    i.compare = q
                    again.append(i)
                else:
                    results[k] = WriteResult(
                        k,
                        error=f"drift: Shopify holds {q}, the hub last confirmed {i.compare} and wants "
                        f"{i.update.quantity}; not overwritten, retried after the next pull",
                        retryable=True,
                    )
        if not stale_ok:
            for i in again:
                results[i.update.idempotency_key] = WriteResult(
                    i.update.idempotency_key, error="not applied: another item of the call failed", retryable=True
                )
            return []
        return again


def _index(path: object) -> int | None:
    if isinstance(path, list):
        for part in path:
            if isinstance(part, str) and part.isdigit():
                return int(part)
            if isinstance(part, int):
                return part
    return None


def _quote(sku: str) -> str:
    escaped = sku.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
