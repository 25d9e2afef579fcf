"""Orders in by polling: `GET orders` changed since the cursor (less the overlap), page by page.

Contract with the engine (`run_pull`):

- the request is `modified_after = cursor - overlap` (GMT, `dates_are_gmt=true`), `per_page` (<= 100),
  `orderby=id&order=asc` (ids never move, so paging cannot skip an order that is modified mid-pull), and pages
  `1..X-WP-TotalPages`;
- the cursor is the greatest `date_modified_gmt` seen, as ISO 8601 UTC. Only the LAST page carries it: the pages
  are in id order, not modification order, so committing a running maximum after page 1 and crashing would skip
  older-modified orders on later pages. A crash mid-pull re-reads from the old cursor (the apply is idempotent);
- each order is one RawRecord with its JSON as received; a line whose `sku` is empty is looked up first (the
  variation's SKU, then its parent's, cached) and the answers ride along in an envelope (see `mapper`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from channelhub_connectors.woocommerce import mapper
from channelhub_connectors.woocommerce.client import WooClient

from channelhub.errors import Skippable
from channelhub.ports import PulledPage, PullRequest, RawRecord

log = logging.getLogger(__name__)

STREAM = "orders"


def parse_cursor(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_cursor(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class LineSkuResolver:
    """SKUs of order lines that came without one: a variation's own SKU, else its parent product's. Cached
    for the connector's lifetime (a product's SKU rarely changes; a stale answer only names an old SKU)."""

    def __init__(self, client: WooClient) -> None:
        self.client = client
        self._products: dict[int, str] = {}
        self._variations: dict[tuple[int, int], str] = {}

    def _product_sku(self, product_id: int) -> str:
        if product_id not in self._products:
            self._products[product_id] = self._fetch_sku(f"products/{product_id}")
        return self._products[product_id]

    def _variation_sku(self, product_id: int, variation_id: int) -> str:
        key = (product_id, variation_id)
        if key not in self._variations:
            self._variations[key] = self._fetch_sku(f"products/{product_id}/variations/{variation_id}")
        return self._variations[key]

    def _fetch_sku(self, endpoint: str) -> str:
        try:
            answer = self.client.call("GET", endpoint)
        except Skippable as exc:  # a deleted product (404): the line stays without a SKU and is quarantined
            log.warning("channel %s: cannot read %s for a line SKU: %s", self.client.channel, endpoint, exc)
            return ""
        data = answer.data if isinstance(answer.data, dict) else {}
        return str(data.get("sku") or "").strip()

    def resolve(self, order: Mapping[str, Any]) -> dict[str, str]:
        """{line id: SKU} for the order's lines without a SKU that the store can name."""
        found: dict[str, str] = {}
        for item in order.get("line_items") or ():
            if str(item.get("sku") or "").strip():
                continue
            product_id, variation_id = _int(item.get("product_id")), _int(item.get("variation_id"))
            sku = ""
            if product_id and variation_id:
                sku = self._variation_sku(product_id, variation_id)
            if not sku and product_id:
                sku = self._product_sku(product_id)
            if sku:
                found[str(item.get("id"))] = sku
        return found


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def to_record(
    order: Any, source: str, resolver: LineSkuResolver, *, raw: str | None = None, delivery_id: str | None = None
) -> RawRecord:
    """One order as a RawRecord: its JSON as received, or an envelope when line SKUs had to be looked up."""
    if not isinstance(order, dict):
        body = raw if raw is not None else json.dumps(order)
        return RawRecord(STREAM, source, body, problem="not a WooCommerce order object", delivery_id=delivery_id)
    resolved = resolver.resolve(order)
    if resolved:
        body = mapper.envelope(order, resolved)
    else:
        body = raw if raw is not None else json.dumps(order, ensure_ascii=False, separators=(",", ":"))
    external_id = str(order["id"]) if order.get("id") else None
    return RawRecord(STREAM, source, body, external_id=external_id, delivery_id=delivery_id)


def pull_orders(
    client: WooClient, resolver: LineSkuResolver, request: PullRequest, per_page: int, store: str
) -> Iterator[PulledPage]:
    """The pages of orders changed since the request's cursor; see the module docstring."""
    params: dict[str, Any] = {"per_page": per_page, "orderby": "id", "order": "asc", "dates_are_gmt": "true"}
    since = parse_cursor(request.cursor) - request.overlap if request.cursor else None
    if since is not None:
        params["modified_after"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    newest = parse_cursor(request.cursor) if request.cursor else None
    page, total_pages = 1, 1
    while page <= total_pages:
        answer = client.call("GET", "orders", params={**params, "page": page})
        total_pages = _total_pages(answer.headers, page)
        orders = answer.data if isinstance(answer.data, list) else []
        records = []
        for position, order in enumerate(orders, start=1):
            source = f"{store} orders page {page} #{position}"
            if isinstance(order, dict):
                source = f"{store} order {order.get('id')} (page {page})"
                modified = order.get("date_modified_gmt")
                if modified:
                    try:
                        seen = parse_cursor(str(modified))
                    except ValueError:
                        seen = None  # the mapper quarantines the order with the reason
                    if seen is not None and (newest is None or seen > newest):
                        newest = seen
            records.append(to_record(order, source, resolver))
        last = page >= total_pages
        yield PulledPage(
            records=records,
            cursor=format_cursor(newest) if last and newest is not None else None,
            label=f"{store} orders page {page}/{total_pages}",
        )
        page += 1


def _total_pages(headers: Mapping[str, str], page: int) -> int:
    raw = headers.get("X-WP-TotalPages")
    try:
        return max(int(raw), page) if raw is not None else page
    except ValueError:
        return page
