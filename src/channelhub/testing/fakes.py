"""Fake connectors for core tests: no network, no files unless asked, every call recorded.

- `RecordingConnector` ("recording"): declares every capability, records each write call, fails chosen items
  (per SKU, key or order) and raises Retryable / RateLimited / Fatal on demand (`raise_next`).
- `FakeOrderSource` ("fake-orders"): yields given pages of canonical orders (serialised as JSON records) and maps
  them back; can raise a ConnectorError after a chosen page.
- `FileReceiverConnector` ("file-receiver"): a channel in a file, for crash tests. Every received idempotency key
  is appended (and fsynced) to `received.log` before the call returns, and a key not seen before is also appended
  to `effects.log`: that is the channel recognising a repeated key as already done. It can sleep inside a call
  (after writing) so a test can kill the process there.
- `make_order(...)`: a valid canonical Order with the given (sku, quantity) lines.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from channelhub.errors import ConnectorError, Fatal, MappingError, Retryable, Skippable
from channelhub.model.money import MoneyBag
from channelhub.model.orders import ChannelFulfillment, FinancialStatus, Order, OrderLine, Totals
from channelhub.ports import (
    BatchLimits,
    CancellationRequest,
    Capability,
    Connector,
    ConnectorContext,
    EmptySettings,
    FulfillmentRequest,
    PulledPage,
    PullRequest,
    RawRecord,
    RefundRequest,
    StockUpdate,
    WriteResult,
    hub_sku,
)

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def make_order(
    external_id: str,
    lines: Sequence[tuple[str, int]] = (("SKU-1", 1),),
    *,
    channel: str = "shop",
    updated_at: datetime | None = None,
    placed_at: datetime | None = None,
    financial_status: FinancialStatus = FinancialStatus.PAID,
    fulfillment: ChannelFulfillment = ChannelFulfillment.UNFULFILLED,
    cancelled_at: datetime | None = None,
    hold_reason: str = "",
    currency: str = "EUR",
) -> Order:
    """A valid order; line external ids are "<external_id>-L<n>", unit price 10.00 each."""
    placed = placed_at or BASE_TIME
    total = sum(quantity for _, quantity in lines) * Decimal("10.00")
    return Order(
        channel=channel,
        external_id=external_id,
        number=f"#{external_id}",
        placed_at=placed,
        updated_at=updated_at or placed,
        currency=currency,
        financial_status=financial_status,
        fulfillment=fulfillment,
        cancelled_at=cancelled_at,
        hold_reason=hold_reason,
        lines=tuple(
            OrderLine(
                external_id=f"{external_id}-L{n}",
                sku=sku,
                quantity=quantity,
                unit_price=MoneyBag.of("10.00", currency),
            )
            for n, (sku, quantity) in enumerate(lines, start=1)
        ),
        totals=Totals(total=MoneyBag.of(total, currency)),
    )


def order_record(order: Order, *, source: str = "", delivery_id: str | None = None) -> RawRecord:
    return RawRecord(
        stream="orders",
        source=source or f"fake order {order.external_id}",
        body=order.model_dump_json(),
        external_id=order.external_id,
        delivery_id=delivery_id,
    )


class RecordingConnector(Connector):
    """Every write capability, every call recorded in `calls` (name, argument)."""

    kind = "recording"
    capabilities = frozenset(Capability)
    config_model = EmptySettings

    def __init__(
        self,
        channel: str = "shop",
        *,
        limits: BatchLimits | None = None,
        config: EmptySettings | None = None,
        context: ConnectorContext | None = None,
    ) -> None:
        super().__init__(config or EmptySettings(), context or ConnectorContext(channel=channel))
        if limits is not None:
            self.limits = limits  # type: ignore[misc]
        self.calls: list[tuple[str, Any]] = []
        self.stock_calls: list[list[StockUpdate]] = []
        self.fulfillments: list[FulfillmentRequest] = []
        self.refunds: list[RefundRequest] = []
        self.cancellations: list[CancellationRequest] = []
        # Per-item failures by SKU (stock), idempotency key or order external id (fulfilment, cancellation):
        # (error, retryable). Permanent until removed.
        self.fail_items: dict[str, tuple[str, bool]] = {}
        # Raised by the next write calls, one per call, in order.
        self.raise_next: list[ConnectorError] = []
        self.listed: dict[str, int] = {}

    def _maybe_raise(self) -> None:
        if self.raise_next:
            raise self.raise_next.pop(0)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        self.calls.append(("push_stock", list(updates)))
        self._maybe_raise()
        self.stock_calls.append(list(updates))
        results = []
        for update in updates:
            failure = self.fail_items.get(update.sku) or self.fail_items.get(update.idempotency_key)
            if failure is not None:
                results.append(WriteResult(update.idempotency_key, error=failure[0], retryable=failure[1]))
            else:
                self.listed[update.sku] = update.quantity
                results.append(WriteResult(update.idempotency_key, confirmed_quantity=update.quantity))
        return results

    def push_fulfillment(self, request: FulfillmentRequest) -> None:
        self.calls.append(("push_fulfillment", request))
        self._maybe_raise()
        failure = self.fail_items.get(request.idempotency_key) or self.fail_items.get(request.order_external_id)
        if failure is not None:
            raise (Retryable if failure[1] else Fatal)(failure[0])
        self.fulfillments.append(request)

    def push_refund(self, request: RefundRequest) -> None:
        self.calls.append(("push_refund", request))
        self._maybe_raise()
        self.refunds.append(request)

    def push_cancellation(self, request: CancellationRequest) -> None:
        self.calls.append(("push_cancellation", request))
        self._maybe_raise()
        failure = self.fail_items.get(request.idempotency_key) or self.fail_items.get(request.order_external_id)
        if failure is not None:
            # A refusal the channel would not change its mind about (already shipped) is Skippable, per ports.
            raise (Retryable if failure[1] else Skippable)(failure[0])
        self.cancellations.append(request)

    def pull_stock(self, skus: Iterable[str]) -> dict[str, int]:
        return {sku: self.listed[sku] for sku in skus if sku in self.listed}


class FakeOrderSource(RecordingConnector):
    """Pulls the pages it was given: each a list of orders or RawRecords, or a ready PulledPage.

    `fail_after`: raise `error` after yielding that many pages. `committed` lists the labels whose
    on_committed ran. `map_order` parses the JSON body; `broken_skus` makes mapping fail for lines of those SKUs
    (to test quarantine and replay after a "fix": clear the set); `sku_map` gives lines without a SKU one, by the
    keys of `channelhub.ports.hub_sku` (to test a replay after a SKU map entry).
    """

    kind = "fake-orders"

    def __init__(self, channel: str = "shop", pages: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(channel, **kwargs)
        self.pages: list[Any] = list(pages)
        self.fail_after: int | None = None
        self.error: ConnectorError | None = None
        self.committed: list[str] = []
        self.requests: list[PullRequest] = []
        self.broken_skus: set[str] = set()
        self.sku_map: dict[str, str] = {}

    def _page(self, index: int, page: Any) -> PulledPage:
        if isinstance(page, PulledPage):
            return page
        records = [item if isinstance(item, RawRecord) else order_record(item) for item in page]
        label = f"page-{index}"
        return PulledPage(
            records=records, cursor=f"cursor-{index}", label=label, on_committed=lambda: self.committed.append(label)
        )

    def pull_orders(self, request: PullRequest) -> Iterator[PulledPage]:
        self.requests.append(request)
        for index, page in enumerate(self.pages):
            if self.fail_after is not None and index >= self.fail_after and self.error is not None:
                raise self.error
            yield self._page(index, page)

    def map_order(self, record: RawRecord) -> Order:
        order = Order.model_validate_json(record.body)
        broken = [line.sku for line in order.lines if line.sku in self.broken_skus]
        if broken:
            raise MappingError(f"no SKU mapping for {', '.join(map(str, broken))}", where=record.source)
        if self.sku_map and any(line.sku is None for line in order.lines):
            lines = tuple(line if line.sku is not None else self._mapped(line) for line in order.lines)
            order = order.model_copy(update={"lines": lines})
        return order

    def _mapped(self, line: OrderLine) -> OrderLine:
        sku = hub_sku(self.sku_map, None, variant_id=line.variant_id, product_id=line.product_id, title=line.title)
        return line.model_copy(update={"sku": sku})


class FileReceiverConnector(RecordingConnector):
    """A channel kept in files under `folder`, for crash tests (see the module docstring).

    `sleep_seconds` > 0: every `sleep_every`-th call sleeps that long after writing its keys, before returning.
    `hang_on_call` = n: the n-th call of this process writes its keys, then the file `hanging`, then sleeps
    `hang_seconds`: the moment for a test to kill the process (the keys reached the channel, the hub has not
    recorded it).
    """

    kind = "file-receiver"

    def __init__(
        self,
        channel: str,
        folder: Path,
        *,
        sleep_seconds: float = 0.0,
        sleep_every: int = 1,
        limits: BatchLimits | None = None,
        hang_on_call: int | None = None,
        hang_seconds: float = 60.0,
    ) -> None:
        super().__init__(channel, limits=limits)
        self.hang_on_call = hang_on_call
        self.hang_seconds = hang_seconds
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.sleep_seconds = sleep_seconds
        self.sleep_every = max(sleep_every, 1)
        self._ncalls = 0
        effects = self.folder / "effects.log"
        self._done: set[str] = set(effects.read_text().split()) if effects.exists() else set()

    def _receive(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        fresh = [key for key in keys if key not in self._done]
        self._append("received.log", keys)
        self._append("effects.log", fresh)
        self._done.update(fresh)
        self._ncalls += 1
        if self._ncalls == self.hang_on_call:
            (self.folder / "hanging").write_text(f"{os.getpid()} call {self._ncalls}\n")
            time.sleep(self.hang_seconds)
        if self.sleep_seconds and self._ncalls % self.sleep_every == 0:
            time.sleep(self.sleep_seconds)

    def _append(self, name: str, keys: list[str]) -> None:
        if not keys:
            return
        with open(self.folder / name, "a", encoding="utf-8") as fh:
            fh.write("".join(f"{key}\n" for key in keys))
            fh.flush()
            os.fsync(fh.fileno())

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        self._receive(u.idempotency_key for u in updates)
        return [WriteResult(u.idempotency_key, confirmed_quantity=u.quantity) for u in updates]

    def push_fulfillment(self, request: FulfillmentRequest) -> None:
        self._receive([request.idempotency_key])

    def push_refund(self, request: RefundRequest) -> None:
        self._receive([request.idempotency_key])

    def push_cancellation(self, request: CancellationRequest) -> None:
        self._receive([request.idempotency_key])


def read_keys(folder: Path, name: str) -> list[str]:
    path = Path(folder) / name
    return path.read_text().split() if path.exists() else []


__all__ = [
    "BASE_TIME",
    "FakeOrderSource",
    "FileReceiverConnector",
    "RecordingConnector",
    "make_order",
    "order_record",
    "read_keys",
]
