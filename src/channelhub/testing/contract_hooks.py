"""The hooks of the connector contract kit: what a connector's contract subclass provides, and their defaults.

`ContractHooks` is the half of `channelhub.testing.contract.ConnectorContract` that a subclass overrides; the
tests that use the hooks live in `contract.py`. A hook a declared capability needs and the subclass does not
provide raises `HookMissing`, which fails the test naming the hook.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import BaseModel

from channelhub.model.orders import Order
from channelhub.model.shipments import Shipment
from channelhub.ports import (
    CancellationRequest,
    Capability,
    Connector,
    ConnectorContext,
    FulfillmentRequest,
    PullRequest,
    RawRecord,
    RefundRequest,
    StockUpdate,
)

# A fixed instant for requests the kit builds, so no contract test depends on the wall clock.
CONTRACT_NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class HookMissing(AssertionError):
    """A declared capability needs a hook the contract subclass did not implement."""


class ContractHooks:
    """The hooks of a connector's contract subclass. Each test runs in a fresh instance, with `tmp_path` (pytest's
    tmp_path) and `request` set before any hook is called."""

    connector_class: ClassVar[type[Connector]]
    channel: ClassVar[str] = "contract-test"
    min_pulled_records: ClassVar[int] = 1  # pull_orders on the test transport must yield at least this many

    tmp_path: Any
    request: Any

    # --- building the connector -----------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """A valid settings table for `connector_class.config_model` (default: empty)."""
        return {}

    def config(self) -> BaseModel:
        return self.connector_class.config_model.model_validate(self.settings())

    def context(self, **overrides: Any) -> ConnectorContext:
        """A ConnectorContext for `channel` rooted at `tmp_path`; keyword arguments override its fields."""
        values: dict[str, Any] = {"channel": self.channel, "base_dir": self.tmp_path}
        values.update(overrides)
        return ConnectorContext(**values)

    def make_connector(self) -> Connector:
        """An instance wired to test transports or cassettes. Default: connector_class(config(), context()).

        May be called more than once in a test (a second instance stands for the connector after a restart):
        every instance must reach the same receiving side."""
        return self.connector_class(self.config(), self.context())

    # --- orders ---------------------------------------------------------------------------------------------

    def sample_order_records(self) -> Iterable[RawRecord]:
        """Records that must map to an Order (needed when PULL_ORDERS is declared). The first one is the order
        the default write samples (fulfilment, refund, cancellation) are built from."""
        raise HookMissing("implement sample_order_records(): raw records that must map")

    def bad_records(self) -> Iterable[RawRecord]:
        """Records that must be quarantined (needed when PULL_ORDERS is declared).

        At least one must have no `problem` set and a body that does not map: map_order must raise Skippable
        for it (a row whose quantity is not a number, an order without SKU, a body that is not JSON, a stored
        body in a layout or version the connector no longer reads). Records with `problem` set may be added:
        the engine quarantines them without calling map_order, so on their own they prove nothing."""
        raise HookMissing("implement bad_records(): raw records that must be quarantined")

    def pull_request(self) -> PullRequest:
        return PullRequest(cursor=None, overlap=timedelta(minutes=5), now=CONTRACT_NOW)

    # --- the receiving side ---------------------------------------------------------------------------------

    def count_effects(self, connector: Connector) -> Any:
        """A snapshot of the receiving side's effects (a count, a list of files, the fake's records...), compared
        with ==. Needed by every write capability.

        It must see every effect of every write the connector declares: the repeat tests require the first
        write to change it, and a repeat (same key, or on a fresh instance) to leave it as the first write did.
        The kit deep-copies what it returns, so the fake's own live list or dict is fine."""
        raise HookMissing("implement count_effects(connector): a snapshot of the receiving side's effects")

    # --- stock ----------------------------------------------------------------------------------------------

    def sample_stock_updates(self) -> list[StockUpdate]:
        """Updates push_stock must accept, each naming a different SKU the test channel lists; the kit sends at
        most `limits.stock_per_call` of them. When PULL_STOCK is declared too, they are also the levels the
        pull_stock test sets first and then reads back."""
        return [StockUpdate(sku=f"CONTRACT-{i}", quantity=i, idempotency_key=f"contract-stock-{i}") for i in range(3)]

    def sample_stock_skus(self) -> list[str]:
        """The SKUs the pull_stock test asks for when the connector cannot push stock (no PUSH_STOCK). Default:
        the sample updates' SKUs."""
        return [u.sku for u in self.sample_stock_updates()]

    def sample_stock_levels(self) -> Mapping[str, int]:
        """What the test channel lists before the test, {sku: quantity}, for SKUs of sample_stock_skus().

        Needed when PULL_STOCK is declared without PUSH_STOCK (the kit cannot set levels itself then):
        pull_stock(sample_stock_skus()) must answer every SKU named here with its quantity. A SKU asked for but
        not named here is one the channel does not list; pull_stock may leave it out. With PUSH_STOCK declared
        this hook is not used: the kit pushes sample_stock_updates() and expects exactly those levels back."""
        raise HookMissing(
            "implement sample_stock_levels(): {sku: quantity} the test channel lists for sample_stock_skus()"
        )

    # --- writes built from the first sample order ---------------------------------------------------------

    def sample_fulfillment(self) -> FulfillmentRequest:
        """A shipment push_fulfillment must accept. Default: built from the first sample order."""
        order = self._map_first_sample("sample_fulfillment()")
        return FulfillmentRequest(
            order_external_id=order.external_id,
            order_number=order.number,
            shipment=Shipment(carrier="contract", tracking_number="CT000000001", shipped_at=CONTRACT_NOW),
            line_external_ids={line.sku: line.external_id for line in order.stock_lines if line.sku},
            idempotency_key="contract-fulfillment-1",
        )

    def sample_refund(self) -> RefundRequest:
        """A refund push_refund must accept. Default: the first sample order's first line, one unit."""
        order = self._map_first_sample("sample_refund()")
        line = order.lines[0]
        return RefundRequest(
            order_external_id=order.external_id,
            amount=str(line.unit_price.shop.amount),
            currency=line.unit_price.shop.currency,
            reason="contract test",
            lines=((line.external_id, 1),),
            idempotency_key="contract-refund-1",
        )

    def sample_cancellation(self) -> CancellationRequest:
        """A cancellation push_cancellation must accept (the order must be open at the test channel). Default:
        the first sample order."""
        order = self._map_first_sample("sample_cancellation()")
        return CancellationRequest(
            order_external_id=order.external_id,
            order_number=order.number,
            reason="contract test",
            idempotency_key="contract-cancellation-1",
        )

    # --- webhooks -------------------------------------------------------------------------------------------

    def sample_webhook(self) -> tuple[Mapping[str, str], bytes]:
        """A correctly signed webhook delivery: (headers, raw body)."""
        raise HookMissing("implement sample_webhook(): (headers, raw body) of a correctly signed delivery")

    def webhook_url(self) -> str:
        """The address the kit registers the hub's webhooks at (WEBHOOK_SUBSCRIPTIONS). The test channel must
        hold no subscription there before the test."""
        return f"https://hub.example.test/webhooks/{self.channel}"

    def other_webhook_url(self) -> str:
        """A second address, whose subscriptions a removal at `webhook_url()` must leave alone."""
        return f"https://other.example.test/webhooks/{self.channel}"

    # --- helpers --------------------------------------------------------------------------------------------

    def _map_first_sample(self, hook: str) -> Order:
        if Capability.PULL_ORDERS not in self.connector_class.capabilities:
            raise HookMissing(f"implement {hook}: there are no sample orders to build it from")
        connector = self.make_connector()
        try:
            return connector.map_order(next(iter(self.sample_order_records())))
        finally:
            connector.close()


__all__ = ["CONTRACT_NOW", "ContractHooks", "HookMissing"]
