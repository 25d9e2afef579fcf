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
        def bad_records(self):                   # records map_order must refuse (Skippable)
            ...
        def count_effects(self, connector):      # a snapshot of the receiving side's effects
            return sorted(p.name for p in (self.tmp_path / "outbox").iterdir())

The hooks, their defaults and what each must give are in `channelhub.testing.contract_hooks.ContractHooks`.
Each test runs in a fresh instance with `self.tmp_path` (pytest's tmp_path) and `self.request` set, so hooks can
build their test transports there. A test whose capability the connector does not declare is skipped. A hook a
declared capability needs but the subclass does not provide FAILS the test, naming the hook: a connector that
claims a capability has to show it keeps the contract.

Every test can fail. In particular:

- a write test (push_stock, push_fulfillment, push_refund, push_cancellation) requires the first write to change
  `count_effects`, and the same write repeated, on the same instance and then on a fresh one (a restart), to leave
  it as the first write did: a write that does nothing fails, as does one that happens twice;
- push_stock must accept the sample updates (every result ok) and confirm what was asked;
- pull_stock must read back the levels push_stock set (or, for a read-only connector, what the test channel
  lists, `sample_stock_levels()`);
- bad_records() must hold a record that reaches map_order, and map_order must refuse it with Skippable;
- webhook subscriptions (`contract_subscriptions`): register twice subscribes once, list shows them, remove
  removes those at the URL and no others.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping, Sequence
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
from channelhub.testing.contract_subscriptions import SubscriptionContract

UNKNOWN_SETTING = "channelhub_contract_unknown_setting"


class ConnectorContract(SubscriptionContract):
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

    # --- the class and its settings -------------------------------------------------------------------------

    def test_class_attributes_are_valid(self) -> None:
        reasons = validate_connector_class(self.connector_class)
        assert reasons == [], f"{self.connector_class.__name__} breaks the connector contract: {'; '.join(reasons)}"

    def test_config_model_rejects_unknown_keys(self) -> None:
        model = self.connector_class.config_model
        model.model_validate(self.settings())  # the valid table must pass, or the next check proves nothing
        with pytest.raises(ValidationError) as caught:
            model.model_validate({**self.settings(), UNKNOWN_SETTING: "x"})
        assert any(e["type"] == "extra_forbidden" for e in caught.value.errors()), caught.value

    # --- orders ---------------------------------------------------------------------------------------------

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
        """Records with `problem` set are quarantined by the engine as they are; the others must reach map_order
        and be refused there with Skippable. Without one of those the test would prove nothing about map_order."""
        self._require(Capability.PULL_ORDERS)
        bad = list(self.bad_records())
        assert bad, "bad_records() returned nothing"
        reaching = [record for record in bad if not record.problem]
        if not reaching:
            pytest.fail(
                "every record bad_records() returned has `problem` set: the engine quarantines those without "
                "calling map_order, so they prove nothing about it. Add to bad_records() at least one record "
                "without `problem` whose body does not map (a quantity that is not a number, an order without "
                "SKU, a body that is not JSON): map_order must raise Skippable for it"
            )
        for record in reaching:
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
            assert page.cursor is None or isinstance(page.cursor, str), f"a page's cursor is {page.cursor!r}"
            for record in page.records:
                assert isinstance(record, RawRecord), f"a page holds {type(record).__name__}, not RawRecord"
                assert record.stream and record.source, "a record must say its stream and where it came from"
                assert isinstance(record.body, str), f"{record.source}: the body is not text"
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

    # --- stock ----------------------------------------------------------------------------------------------

    def test_push_stock_returns_one_result_per_update(self, connector: Connector) -> None:
        """One WriteResult per update, every one ok, and a confirmed quantity (when given) equal to the one asked."""
        self._require(Capability.PUSH_STOCK)
        updates = self._stock_batch()
        results = connector.push_stock(updates)
        assert all(isinstance(r, WriteResult) for r in results), f"push_stock returned {results!r}, not WriteResults"
        answered, asked = sorted(r.idempotency_key for r in results), sorted(u.idempotency_key for u in updates)
        assert answered == asked, f"push_stock answered for keys {answered}, it was sent {asked}: one result each"
        _check_stock_results(updates, results, "")

    def test_push_stock_repeated_is_safe(self, connector: Connector) -> None:
        """The first push changes the receiving side; the same push again, or after a restart, changes nothing
        more and is still accepted (a repeat is recognised as done, not refused)."""
        self._require(Capability.PUSH_STOCK)
        updates = self._stock_batch()

        def push(instance: Connector) -> None:
            _check_stock_results(updates, instance.push_stock(updates), " (a write the dispatcher repeated)")

        self._assert_write_takes_effect_once(connector, push, "push_stock", "changed more")

    def test_pull_stock_returns_quantities(self, connector: Connector) -> None:
        """pull_stock reads the channel's levels: with PUSH_STOCK, exactly the sample levels just pushed; without
        it, at least the levels sample_stock_levels() says the test channel lists. Read on this instance and on a
        fresh one, so levels this instance merely remembers do not pass for the channel's."""
        self._require(Capability.PULL_STOCK)
        if Capability.PUSH_STOCK in self.connector_class.capabilities:
            updates = self._stock_batch()
            connector.push_stock(updates)  # whether its results are right is test_push_stock_*'s business
            expected = {u.sku: u.quantity for u in updates}
            asked = list(expected)  # so the checks below leave exactly these SKUs at these levels
        else:
            asked = list(self.sample_stock_skus())
            expected = dict(self.sample_stock_levels())
            stray = sorted(set(expected) - set(asked))
            assert not stray, f"sample_stock_levels() names {stray}, which sample_stock_skus() does not ask for"
        _check_levels(connector.pull_stock(asked), asked, expected, "")
        again = self.make_connector()
        try:
            _check_levels(again.pull_stock(asked), asked, expected, " on a fresh instance")
        finally:
            again.close()

    # --- order writes ---------------------------------------------------------------------------------------

    def test_push_fulfillment_repeated_does_not_ship_twice(self, connector: Connector) -> None:
        self._require(Capability.PUSH_FULFILLMENT)
        request = self.sample_fulfillment()
        self._assert_write_takes_effect_once(
            connector, lambda c: c.push_fulfillment(request), "push_fulfillment", "shipped twice"
        )

    def test_push_refund_repeated_does_not_refund_twice(self, connector: Connector) -> None:
        self._require(Capability.PUSH_REFUND)
        request = self.sample_refund()
        self._assert_write_takes_effect_once(
            connector, lambda c: c.push_refund(request), "push_refund", "refunded twice"
        )

    def test_push_cancellation_repeated_does_not_cancel_twice(self, connector: Connector) -> None:
        self._require(Capability.PUSH_CANCELLATION)
        request = self.sample_cancellation()
        self._assert_write_takes_effect_once(
            connector, lambda c: c.push_cancellation(request), "push_cancellation", "cancelled twice"
        )

    # --- webhooks -------------------------------------------------------------------------------------------

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
            assert isinstance(record, RawRecord), f"parse_webhook returned {type(record).__name__}, not RawRecord"
            assert record.delivery_id, "webhook records carry the delivery id, for deduplication"

    def test_read_webhook_keeps_what_parse_needs_and_no_signature(self, connector: Connector) -> None:
        """The receiver stores the body with the headers read_webhook kept, and parse_webhook runs on those
        later: they must give the same records as the full headers, and carry no signature."""
        self._require(Capability.WEBHOOKS)
        headers, body = self.sample_webhook()
        delivery = connector.read_webhook(headers, body)
        assert delivery.accepted, "the sample delivery's topic was not accepted"
        assert delivery.delivery_id, "read_webhook found no delivery id in the sample delivery"
        assert not [k for k in delivery.headers if "signature" in k.lower() or "hmac" in k.lower()], (
            "read_webhook kept a signature header"
        )
        full = connector.parse_webhook(headers, body)
        kept = connector.parse_webhook(dict(delivery.headers), body)
        assert [(r.stream, r.body, r.delivery_id) for r in kept] == [(r.stream, r.body, r.delivery_id) for r in full]
        assert {r.delivery_id for r in kept} == {delivery.delivery_id}

    # --- helpers --------------------------------------------------------------------------------------------

    def _require(self, capability: Capability) -> None:
        if capability not in self.connector_class.capabilities:
            pytest.skip(f"{self.connector_class.kind} does not declare {capability.value}")

    def _stock_batch(self) -> list[StockUpdate]:
        updates = self.sample_stock_updates()[: self.connector_class.limits.stock_per_call]
        assert updates, "sample_stock_updates() returned nothing"
        skus = [u.sku for u in updates]
        # The checks compare per SKU (confirmed and read-back quantities): a SKU named twice would blur them.
        assert len(set(skus)) == len(skus), f"sample_stock_updates() names a SKU more than once: {skus}"
        return updates

    def _effects(self, connector: Connector) -> Any:
        # A copy: a hook returning the fake's own live list or dict would otherwise equal itself after any write,
        # and the before/after comparison would measure nothing.
        return copy.deepcopy(self.count_effects(connector))

    def _assert_write_takes_effect_once(
        self, connector: Connector, write: Callable[[Connector], object], what: str, twice: str
    ) -> None:
        """`write` once must change count_effects; the same write again, on this instance and then on a fresh
        one (as after a crash and restart), must leave it as the first write did."""
        before = self._effects(connector)
        write(connector)
        after_first = self._effects(connector)
        assert after_first != before, (
            f"the first write changed nothing at the receiving side: count_effects() was {_short(before)} before "
            f"{what} and after it. Either {what} does nothing, or count_effects() does not see what it does"
        )
        write(connector)
        now = self._effects(connector)
        assert now == after_first, (
            f"{what} repeated with the same idempotency key {twice}: count_effects() went from "
            f"{_short(after_first)} to {_short(now)}"
        )
        again = self.make_connector()
        try:
            write(again)
            now = self._effects(again)
            assert now == after_first, (
                f"{what} repeated after a restart (on a fresh instance) {twice}: count_effects() went from "
                f"{_short(after_first)} to {_short(now)}"
            )
        finally:
            again.close()


def _check_stock_results(updates: Sequence[StockUpdate], results: Sequence[WriteResult], when: str) -> None:
    asked = {u.idempotency_key: u.quantity for u in updates}
    refused = [f"{r.idempotency_key}: {r.error}" for r in results if not r.ok]
    assert not refused, (
        f"push_stock refused sample updates{when}: {'; '.join(refused)}. The sample updates must be accepted "
        "(if the test channel does not list their SKUs, override sample_stock_updates())"
    )
    wrong = [
        f"{r.idempotency_key}: asked {asked[r.idempotency_key]}, confirmed {r.confirmed_quantity}"
        for r in results
        if r.confirmed_quantity is not None and r.idempotency_key in asked
        if r.confirmed_quantity != asked[r.idempotency_key]
    ]
    assert not wrong, f"push_stock confirmed other quantities than it was asked to set{when}: {'; '.join(wrong)}"


def _check_levels(levels: Any, asked: list[str], expected: Mapping[str, int], where: str) -> None:
    """`levels` answers only SKUs `asked`, with ints, and every SKU of `expected` with its quantity."""
    assert isinstance(levels, dict), f"pull_stock{where} returned {type(levels).__name__}, not dict"
    stray = sorted(set(levels) - set(asked))
    assert not stray, f"pull_stock{where} answered for {stray}, which were not asked for"
    for sku, quantity in levels.items():
        assert isinstance(quantity, int) and not isinstance(quantity, bool), f"{sku}: {quantity!r} is not an int"
    missing = sorted(set(expected) - set(levels))
    assert not missing, f"pull_stock{where} left out {missing}, which the test channel lists"
    wrong = [f"{sku}: {levels[sku]}, not {quantity}" for sku, quantity in expected.items() if levels[sku] != quantity]
    assert not wrong, f"pull_stock{where} read other levels than the test channel holds: {'; '.join(wrong)}"


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


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
        # A line without a SKU is allowed (the hub holds its order, naming the line): it must be nameable.
        assert line.sku or line.title, f"{where}: line {line.external_id} has neither a SKU nor a title"
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
