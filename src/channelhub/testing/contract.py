"""The connector contract test kit: one suite every connector runs, each test only for what it declares.

Use it by subclassing `ConnectorContract` in a test module (the subclass's name must start with `Test`):

    class TestMarketplaceContract(ConnectorContract):
        connector_class = MarketplaceConnector

        def settings(self):                      # a valid [channels.settings] table
            return {"transport": "local", "root": str(self.tmp_path)}

        def make_connector(self):                # optional: the default builds one from settings()
            return MarketplaceConnector(self.config(), self.context(transport=...))

        def sample_order_records(self):          # records that must map
            ...
        def bad_records(self):                   # records that must be quarantined
            ...
        def count_effects(self, connector):      # a snapshot of the receiving side's effects
            return len(list((self.tmp_path / "outbox").iterdir()))

The hooks, their defaults and what each must give are in `channelhub.testing.contract_hooks.ContractHooks`.
Each test runs in a fresh instance with `self.tmp_path` (pytest's tmp_path) and `self.request` set, so hooks can
build their test transports there. A test whose capability the connector does not declare is skipped. A hook a
declared capability needs but the subclass does not provide FAILS the test, naming the hook: a connector that
claims a capability has to show it keeps the contract.

`make_connector()` may be called twice in one test (the repeat tests build a second instance, as a restart
would); both must reach the same receiving side, which is natural when it lives under `self.tmp_path`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from channelhub.errors import Skippable
from channelhub.model.money import Money
from channelhub.model.orders import Order
from channelhub.plugins import validate_connector_class
from channelhub.ports import Capability, Connector, PulledPage, RawRecord, StockUpdate, WriteResult
from channelhub.testing.contract_hooks import CONTRACT_NOW, ContractHooks, HookMissing

UNKNOWN_SETTING = "channelhub_contract_unknown_setting"


class ConnectorContract(ContractHooks):
    """Base of a connector's contract tests. Not collected itself; a subclass is collected when its name
    matches pytest's python_classes ("Test*"), unless it sets `__test__ = False` in its own body."""

    __test__ = False
    pytestmark = [pytest.mark.contract]  # `pytest -m contract` runs every connector's contract suite

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__test__" not in cls.__dict__:
            # Undo the base's False so pytest's name rule (python_classes, "Test*") decides. Not `True`: pytest
            # collects a class whose __test__ `is True` whatever its name, which would collect shared
            # intermediate classes (class ShopifyContract(ConnectorContract)) as well.
            cls.__test__ = 1  # type: ignore[assignment]

    @pytest.fixture(autouse=True)
    def _contract_setup(self, tmp_path: Any, request: pytest.FixtureRequest) -> None:
        self.tmp_path = tmp_path
        self.request = request

    @pytest.fixture
    def connector(self) -> Iterator[Connector]:
        connector = self.make_connector()
        try:
            yield connector
        finally:
            connector.close()

    # --- the contract ---------------------------------------------------------------------------------------

    def test_class_attributes_are_valid(self) -> None:
        assert validate_connector_class(self.connector_class) == []

    def test_config_model_rejects_unknown_keys(self) -> None:
        model = self.connector_class.config_model
        model.model_validate(self.settings())  # the valid table must pass, or the next check proves nothing
        with pytest.raises(ValidationError) as caught:
            model.model_validate({**self.settings(), UNKNOWN_SETTING: "x"})
        assert any(e["type"] == "extra_forbidden" for e in caught.value.errors()), caught.value

    def test_map_order_maps_samples_to_canonical_orders(self, connector: Connector) -> None:
        self._require(Capability.PULL_ORDERS)
        samples = list(self.sample_order_records())
        assert samples, "sample_order_records() returned nothing"
        for record in samples:
            order = connector.map_order(record)
            _check_order(order, connector.channel, record)

    def test_map_order_is_deterministic(self, connector: Connector) -> None:
        self._require(Capability.PULL_ORDERS)
        for record in self.sample_order_records():
            first = connector.map_order(record)
            second = connector.map_order(record)
            assert first == second, f"map_order gave two answers for {record.source}"
            other = self.make_connector()
            try:
                assert other.map_order(record) == first, f"a second instance mapped {record.source} differently"
            finally:
                other.close()

    def test_bad_records_are_quarantined(self, connector: Connector) -> None:
        self._require(Capability.PULL_ORDERS)
        bad = list(self.bad_records())
        assert bad, "bad_records() returned nothing"
        for record in bad:
            if record.problem:
                continue
            try:
                order = connector.map_order(record)
            except Skippable:
                continue
            except Exception as exc:
                pytest.fail(
                    f"map_order raised {type(exc).__name__} for bad record {record.source}: "
                    f"it must raise channelhub.errors.Skippable (MappingError) instead ({exc})"
                )
            pytest.fail(f"map_order accepted bad record {record.source}: {order.external_id}")

    def test_pull_orders_yields_pages_of_raw_records(self, connector: Connector) -> None:
        self._require(Capability.PULL_ORDERS)
        pages = list(connector.pull_orders(self.pull_request()))
        records = 0
        for page in pages:
            assert isinstance(page, PulledPage), f"pull_orders yielded {type(page).__name__}, not PulledPage"
            assert page.cursor is None or isinstance(page.cursor, str)
            for record in page.records:
                assert isinstance(record, RawRecord), f"a page holds {type(record).__name__}, not RawRecord"
                assert record.stream and record.source, "a record must say its stream and where it came from"
                assert isinstance(record.body, str)
                records += 1
        assert records >= self.min_pulled_records, f"pull_orders yielded {records} record(s)"

    def test_pulled_records_map_or_are_quarantined(self, connector: Connector) -> None:
        self._require(Capability.PULL_ORDERS)
        for page in connector.pull_orders(self.pull_request()):
            for record in page.records:
                if record.problem:
                    continue
                try:
                    order = connector.map_order(record)
                except Skippable:
                    continue
                except Exception as exc:
                    pytest.fail(f"map_order raised {type(exc).__name__} for pulled {record.source}: {exc}")
                _check_order(order, connector.channel, record)

    def test_push_stock_returns_one_result_per_update(self, connector: Connector) -> None:
        self._require(Capability.PUSH_STOCK)
        updates = self._stock_batch()
        results = connector.push_stock(updates)
        assert all(isinstance(r, WriteResult) for r in results)
        assert sorted(r.idempotency_key for r in results) == sorted(u.idempotency_key for u in updates)

    def test_push_stock_repeated_is_safe(self, connector: Connector) -> None:
        self._require(Capability.PUSH_STOCK)
        updates = self._stock_batch()
        self._assert_repeat_is_safe(
            connector,
            lambda c: c.push_stock(updates),
            "repeating push_stock with the same keys changed more",
            "push_stock",
        )

    def test_push_fulfillment_repeated_does_not_ship_twice(self, connector: Connector) -> None:
        self._require(Capability.PUSH_FULFILLMENT)
        request = self.sample_fulfillment()
        self._assert_repeat_is_safe(
            connector,
            lambda c: c.push_fulfillment(request),
            "the same idempotency key shipped twice",
            "push_fulfillment",
        )

    def test_push_refund_repeated_does_not_refund_twice(self, connector: Connector) -> None:
        self._require(Capability.PUSH_REFUND)
        request = self.sample_refund()
        self._assert_repeat_is_safe(
            connector, lambda c: c.push_refund(request), "the same idempotency key refunded twice"
        )

    def test_pull_stock_returns_quantities(self, connector: Connector) -> None:
        self._require(Capability.PULL_STOCK)
        skus = self.sample_stock_skus()
        levels = connector.pull_stock(skus)
        assert isinstance(levels, dict)
        for sku, quantity in levels.items():
            assert sku in skus, f"pull_stock answered for {sku!r}, which was not asked for"
            assert isinstance(quantity, int) and not isinstance(quantity, bool), f"{sku}: {quantity!r} is not an int"

    def test_verify_webhook_rejects_tampered_body(self, connector: Connector) -> None:
        self._require(Capability.WEBHOOKS)
        headers, body = self.sample_webhook()
        assert connector.verify_webhook(headers, body) is True, "a correctly signed delivery was rejected"
        tampered = body[:-1] + bytes([body[-1] ^ 0x01]) if body else b"x"
        assert connector.verify_webhook(headers, tampered) is False, "a tampered body was accepted"
        assert connector.verify_webhook(headers, body + b" ") is False, "a body with a byte added was accepted"

    def test_parse_webhook_gives_records_with_delivery_id(self, connector: Connector) -> None:
        self._require(Capability.WEBHOOKS)
        headers, body = self.sample_webhook()
        records = connector.parse_webhook(headers, body)
        assert records, "parse_webhook returned no records for the sample delivery"
        for record in records:
            assert isinstance(record, RawRecord)
            assert record.delivery_id, "webhook records carry the delivery id, for deduplication"

    # --- helpers --------------------------------------------------------------------------------------------

    def _require(self, capability: Capability) -> None:
        if capability not in self.connector_class.capabilities:
            pytest.skip(f"{self.connector_class.kind} does not declare {capability.value}")

    def _stock_batch(self) -> list[StockUpdate]:
        updates = self.sample_stock_updates()[: self.connector_class.limits.stock_per_call]
        assert updates, "sample_stock_updates() returned nothing"
        return updates

    def _assert_repeat_is_safe(self, connector: Connector, action: Any, message: str, restart: str = "") -> None:
        """Do a write, repeat it: the receiving side's effects must not change. With `restart` (the write's name),
        repeat it once more on a second instance, as after a crash and restart."""
        action(connector)
        after_first = self.count_effects(connector)
        action(connector)
        assert self.count_effects(connector) == after_first, message
        if restart:
            self._repeat_on_fresh_instance(action, after_first, restart)

    def _repeat_on_fresh_instance(self, action: Any, expected: Any, what: str) -> None:
        """Repeat a write on a second instance, as after a crash and restart: still no second effect."""
        again = self.make_connector()
        try:
            action(again)
            assert self.count_effects(again) == expected, f"{what} repeated after a restart changed more"
        finally:
            again.close()


def _check_order(order: Any, channel: str, record: RawRecord) -> None:
    where = record.source
    assert isinstance(order, Order), f"map_order returned {type(order).__name__} for {where}, not Order"
    assert order.channel == channel, f"{where}: order.channel is {order.channel!r}, the context says {channel!r}"
    for name in ("placed_at", "updated_at", "cancelled_at"):
        value = getattr(order, name)
        if value is not None:
            assert value.utcoffset() == timedelta(0), f"{where}: {name} is not UTC ({value!r})"
    assert order.lines, f"{where}: an order without lines"
    for line in order.lines:
        assert line.sku, f"{where}: line {line.external_id} has no SKU"
        assert isinstance(line.quantity, int) and line.quantity > 0, f"{where}: line {line.external_id} quantity"
    for money in _money_in(order):
        assert isinstance(money.amount, Decimal), f"{where}: an amount is {type(money.amount).__name__}"


def _money_in(value: Any) -> Iterator[Money]:
    if isinstance(value, Money):
        yield value
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _money_in(getattr(value, name))
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _money_in(item)


__all__ = ["CONTRACT_NOW", "ConnectorContract", "ContractHooks", "HookMissing"]
