"""Stock out: hub SKU -> WooCommerce product or variation, then `POST products/batch` and
`POST products/<id>/variations/batch`, at most 100 updates a request.

- Resolution, cached for the connector's lifetime: `GET products?sku=a,b,...` (comma-separated, up to 100),
  then, for SKUs still unknown, one walk over the variable products' variations (repeated at most every
  `REWALK_AFTER` seconds). A variation whose `manage_stock` is "parent" is pushed to its parent product.
- Only items with `manage_stock` true are pushed. An unmanaged item fails alone with a non-retryable result
  naming the reason, logged once per SKU: WooCommerce would silently ignore the quantity.
- Per-item errors inside a 200 batch answer (`{"id": .., "error": {"code", "message", "data": {"status"}}}`) are
  classified one by one; a whole-call failure raises (setting a quantity twice is harmless, so the engine's retry
  of the whole batch is safe).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from channelhub_connectors.woocommerce.client import WooClient

from channelhub.ports import StockUpdate, WriteResult

log = logging.getLogger(__name__)

BATCH_LIMIT = 100  # WooCommerce refuses batches of more than 100 objects
REWALK_AFTER = 600.0  # seconds between two walks of every variation, for SKUs not found by ?sku=


@dataclass(frozen=True)
class Target:
    """Where a SKU's stock lives at the store. `variation_id` None: on the product itself."""

    product_id: int
    variation_id: int | None
    managed: bool

    @property
    def endpoint(self) -> str:
        return "products/batch" if self.variation_id is None else f"products/{self.product_id}/variations/batch"

    @property
    def item_id(self) -> int:
        return self.product_id if self.variation_id is None else self.variation_id


class Catalogue:
    """Channel SKU -> Target, looked up on demand and cached."""

    def __init__(self, client: WooClient) -> None:
        self.client = client
        self.targets: dict[str, Target] = {}
        self._walked_at: float | None = None

    def resolve(self, skus: Iterable[str]) -> dict[str, Target]:
        wanted = sorted({s for s in skus if s})
        missing = [s for s in wanted if s not in self.targets]
        for start in range(0, len(missing), BATCH_LIMIT):
            chunk = missing[start : start + BATCH_LIMIT]
            answer = self.client.call("GET", "products", params={"sku": ",".join(chunk), "per_page": BATCH_LIMIT})
            for product in answer.data if isinstance(answer.data, list) else []:
                self._learn(product, parent=None)
        if any(s not in self.targets for s in wanted) and self._may_walk():
            self._walk_variations()
        return {s: self.targets[s] for s in wanted if s in self.targets}

    def forget(self, sku: str) -> None:
        self.targets.pop(sku, None)

    def _may_walk(self) -> bool:
        return self._walked_at is None or time.monotonic() - self._walked_at > REWALK_AFTER

    def _walk_variations(self) -> None:
        self._walked_at = time.monotonic()
        for product in self._pages("products", {"type": "variable"}):
            for variation in self._pages(f"products/{product['id']}/variations", {}):
                self._learn(variation, parent=product)

    def _pages(self, endpoint: str, params: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
        page, total = 1, 1
        while page <= total:
            answer = self.client.call("GET", endpoint, params={**params, "per_page": BATCH_LIMIT, "page": page})
            try:
                total = max(int(answer.headers.get("X-WP-TotalPages", page)), page)
            except ValueError:
                total = page
            yield from (item for item in answer.data or () if isinstance(item, dict) and item.get("id"))
            page += 1

    def _learn(self, item: Mapping[str, Any], parent: Mapping[str, Any] | None) -> None:
        sku = str(item.get("sku") or "").strip()
        if not sku or not item.get("id"):
            return
        parent_id = int(parent["id"]) if parent is not None else int(item.get("parent_id") or 0)
        is_variation = parent is not None or item.get("type") == "variation"
        manage = item.get("manage_stock")
        if is_variation and manage == "parent":
            parent_managed = bool(parent.get("manage_stock") is True) if parent is not None else True
            self.targets[sku] = Target(parent_id, None, parent_managed)
        elif is_variation and parent_id:
            self.targets[sku] = Target(parent_id, int(item["id"]), manage is True)
        else:
            self.targets[sku] = Target(int(item["id"]), None, manage is True)


class StockPusher:
    def __init__(self, client: WooClient, catalogue: Catalogue, sku_map: Mapping[str, str]) -> None:
        self.client = client
        self.catalogue = catalogue
        # context.sku_map is channel SKU -> hub SKU; stock goes the other way.
        self.to_channel = {hub: channel for channel, hub in sku_map.items()}
        self._reported_unmanaged: set[str] = set()

    def push(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        results: dict[str, WriteResult] = {}
        channel_sku = {u.idempotency_key: self.to_channel.get(u.sku, u.sku) for u in updates}
        targets = self.catalogue.resolve(channel_sku.values())
        # The last update of a target wins within one call (the engine already coalesces by SKU).
        batches: dict[str, dict[int, tuple[int, list[StockUpdate]]]] = {}
        for update in updates:
            sku = channel_sku[update.idempotency_key]
            target = targets.get(sku)
            if target is None:
                results[update.idempotency_key] = WriteResult(
                    update.idempotency_key, error=f"SKU {sku!r} is neither a product nor a variation in the store"
                )
                continue
            if not target.managed:
                results[update.idempotency_key] = self._unmanaged(update, sku)
                continue
            slot = batches.setdefault(target.endpoint, {})
            _, waiting = slot.get(target.item_id, (0, []))
            slot[target.item_id] = (update.quantity, [*waiting, update])
        for endpoint, items in sorted(batches.items()):
            ids = sorted(items)
            for start in range(0, len(ids), BATCH_LIMIT):
                chunk = ids[start : start + BATCH_LIMIT]
                body = {"update": [{"id": item_id, "stock_quantity": items[item_id][0]} for item_id in chunk]}
                answer = self.client.call("POST", endpoint, data=body)
                self._read_batch(answer.data, {i: items[i] for i in chunk}, channel_sku, results)
        return [results[u.idempotency_key] for u in updates]

    def _unmanaged(self, update: StockUpdate, sku: str) -> WriteResult:
        reason = (
            f"SKU {sku!r} does not have stock management enabled in WooCommerce (manage_stock is off), "
            "so the hub does not push its quantity; enable 'Manage stock?' on the product or variation"
        )
        if sku not in self._reported_unmanaged:
            self._reported_unmanaged.add(sku)
            log.warning("channel %s: %s", self.client.channel, reason)
        return WriteResult(update.idempotency_key, error=reason, retryable=False)

    def _read_batch(
        self,
        data: Any,
        sent: Mapping[int, tuple[int, list[StockUpdate]]],
        channel_sku: Mapping[str, str],
        results: dict[str, WriteResult],
    ) -> None:
        answered: dict[int, Mapping[str, Any]] = {}
        for item in (data or {}).get("update") or () if isinstance(data, dict) else ():
            if isinstance(item, dict) and item.get("id") is not None:
                answered[int(item["id"])] = item
        for item_id, (quantity, updates) in sent.items():
            item = answered.get(item_id)
            for update in updates:
                key = update.idempotency_key
                if item is None:
                    results[key] = WriteResult(
                        key, error=f"WooCommerce's batch answer says nothing of id {item_id}", retryable=True
                    )
                elif item.get("error"):
                    results[key] = self._item_error(update, channel_sku[key], item_id, item["error"])
                else:
                    confirmed = item.get("stock_quantity")
                    ok = isinstance(confirmed, int) and not isinstance(confirmed, bool)
                    results[key] = WriteResult(key, confirmed_quantity=confirmed if ok else quantity)

    def _item_error(self, update: StockUpdate, sku: str, item_id: int, error: Any) -> WriteResult:
        error = error if isinstance(error, dict) else {"message": str(error)}
        code = str(error.get("code") or "")
        status = (error.get("data") or {}).get("status") if isinstance(error.get("data"), dict) else None
        message = f"WooCommerce refused SKU {sku!r} (id {item_id}): {code or 'error'}: {error.get('message') or ''}"
        if status == 404 or code.endswith("_invalid_id"):
            self.catalogue.forget(sku)  # deleted or moved: look it up again on the retry
            return WriteResult(update.idempotency_key, error=message, retryable=True)
        retryable = isinstance(status, int) and (status >= 500 or status == 429)
        return WriteResult(update.idempotency_key, error=message, retryable=retryable)
