"""The connector contract kit, tested by running it: a good connector passes, each broken one fails the right test."""

from __future__ import annotations

import textwrap

import pytest

pytest_plugins = ["pytester"]

CONNECTORS = textwrap.dedent(
    '''
    import hashlib
    import hmac
    from datetime import UTC, datetime

    from pydantic import BaseModel, ConfigDict, SecretStr

    from channelhub.errors import MappingError
    from channelhub.model.money import MoneyBag
    from channelhub.model.orders import FinancialStatus, Order, OrderLine, Totals
    from channelhub.ports import (
        BatchLimits, Capability, Connector, PulledPage, RawRecord, WriteResult,
    )
    from channelhub.testing.contract import ConnectorContract
    from channelhub.testing.contract import ConnectorContract as TestLooksLikeATestButIsTheBase  # noqa: F401


    class Remote:
        """The receiving side: what the channel recorded."""

        def __init__(self):
            self.stock = {}
            self.shipments = {}
            self.stock_calls = []


    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        webhook_secret: SecretStr = SecretStr("whsec-test")
        currency: str = "EUR"


    class TinyConnector(Connector):
        kind = "tiny"
        capabilities = frozenset(
            {Capability.PULL_ORDERS, Capability.PUSH_STOCK, Capability.PUSH_FULFILLMENT, Capability.WEBHOOKS}
        )
        config_model = Settings
        limits = BatchLimits(stock_per_call=2)

        def pull_orders(self, request):
            yield PulledPage(records=[RawRecord("orders", "remote page 1", "A1;SKU-1;2", "A1")], cursor="c1")

        def map_order(self, record):
            try:
                number, sku, quantity = record.body.split(";")
                quantity = int(quantity)
            except ValueError:
                raise MappingError("not number;sku;quantity", where=record.source) from None
            at = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
            price = MoneyBag.of("12.50", self.config.currency)
            return Order(
                channel=self.channel, external_id=number, number=number, placed_at=at, updated_at=at,
                currency=self.config.currency, financial_status=FinancialStatus.PAID,
                lines=(OrderLine(external_id=number + "-1", sku=sku, quantity=quantity, unit_price=price),),
                totals=Totals(total=price),
            )

        def push_stock(self, updates):
            remote = self.context.transport
            for update in updates:
                remote.stock[update.idempotency_key] = update.quantity
            return [WriteResult(u.idempotency_key, confirmed_quantity=u.quantity) for u in updates]

        def push_fulfillment(self, request):
            self.context.transport.shipments[request.idempotency_key] = request.shipment.tracking_number

        def _sign(self, body):
            return hmac.new(self.config.webhook_secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()

        def verify_webhook(self, headers, raw_body):
            return hmac.compare_digest(headers.get("X-Signature", ""), self._sign(raw_body))

        def parse_webhook(self, headers, raw_body):
            return [RawRecord("orders", "webhook", raw_body.decode(), delivery_id=headers["X-Delivery"])]


    class TinyContract(ConnectorContract):
        """Shared hooks; not collected itself (its name does not start with Test)."""

        connector_class = TinyConnector

        def make_connector(self):
            if not hasattr(self, "remote"):
                self.remote = Remote()
            return self.connector_class(self.config(), self.context(transport=self.remote))

        def sample_order_records(self):
            return [RawRecord("orders", "sample 1", "A1;SKU-1;2", "A1"), RawRecord("orders", "sample 2", "A2;SKU-2;1")]

        def bad_records(self):
            return [RawRecord("orders", "bad 1", "garbage"), RawRecord("orders", "bad 2", "", problem="bad bytes")]

        def count_effects(self, connector):
            return (len(self.remote.stock), len(self.remote.shipments), len(self.remote.stock_calls))

        def sample_webhook(self):
            body = b"A3;SKU-3;1"
            signature = hmac.new(b"whsec-test", body, hashlib.sha256).hexdigest()
            return {"X-Signature": signature, "X-Delivery": "d-1"}, body
    '''
)

GOOD = "class TestTiny(TinyContract):\n    pass\n"

# Each broken connector, and the one contract test it must fail.
BROKEN = {
    "test_bad_records_are_quarantined": """
        def map_order(self, record):
            return super().map_order(record) if ";" in record.body else {}["vendor_field"]
    """,
    "test_map_order_is_deterministic": """
        calls = [0]

        def map_order(self, record):
            self.calls[0] += 1
            order = super().map_order(record)
            return order.model_copy(update={"extra": {"seen": self.calls[0]}})
    """,
    "test_map_order_maps_samples_to_canonical_orders": """
        def map_order(self, record):
            return super().map_order(record).model_copy(update={"channel": "somewhere-else"})
    """,
    "test_push_stock_repeated_is_safe": """
        def push_stock(self, updates):
            self.context.transport.stock_calls.append(len(updates))
            return super().push_stock(updates)
    """,
    "test_push_stock_returns_one_result_per_update": """
        def push_stock(self, updates):
            return super().push_stock(updates)[1:]
    """,
    "test_push_fulfillment_repeated_does_not_ship_twice": """
        def push_fulfillment(self, request):
            shipments = self.context.transport.shipments
            shipments[f"{request.idempotency_key}-{len(shipments)}"] = request.shipment.tracking_number
    """,
    "test_verify_webhook_rejects_tampered_body": """
        def verify_webhook(self, headers, raw_body):
            return "X-Signature" in headers
    """,
    "test_pull_orders_yields_pages_of_raw_records": """
        def pull_orders(self, request):
            yield [{"id": "A1"}]
    """,
}


def broken_module(test_name: str, override: str) -> str:
    body = textwrap.indent(textwrap.dedent(override).strip(), "    ")
    return (
        f"class BrokenConnector(TinyConnector):\n{body}\n\n\n"
        "class TestBroken(TinyContract):\n    connector_class = BrokenConnector\n"
    )


def outcomes(pytester: pytest.Pytester, module: str) -> dict[str, str]:
    pytester.makepyfile(test_kit=CONNECTORS + "\n\n" + module)
    run = pytester.inline_run("-p", "no:cacheprovider", "--strict-markers", "-m", "contract")
    reports = [r for r in run.getreports("pytest_runtest_logreport") if r.when == "call" or r.outcome != "passed"]
    classes = {r.nodeid.split("::")[1] for r in reports}
    # Only the Test* subclass is collected: not the base (even imported under a Test* name), not TinyContract.
    assert len(classes) == 1 and next(iter(classes)).startswith("Test"), classes
    return {r.nodeid.split("::")[-1]: r.outcome for r in reports}


def test_a_good_connector_passes_and_undeclared_capabilities_are_skipped(pytester: pytest.Pytester) -> None:
    result = outcomes(pytester, GOOD)
    assert result == {
        "test_class_attributes_are_valid": "passed",
        "test_config_model_rejects_unknown_keys": "passed",
        "test_map_order_maps_samples_to_canonical_orders": "passed",
        "test_map_order_is_deterministic": "passed",
        "test_bad_records_are_quarantined": "passed",
        "test_pull_orders_yields_pages_of_raw_records": "passed",
        "test_pulled_records_map_or_are_quarantined": "passed",
        "test_push_stock_returns_one_result_per_update": "passed",
        "test_push_stock_repeated_is_safe": "passed",
        "test_push_fulfillment_repeated_does_not_ship_twice": "passed",
        "test_push_refund_repeated_does_not_refund_twice": "skipped",
        "test_pull_stock_returns_quantities": "skipped",
        "test_verify_webhook_rejects_tampered_body": "passed",
        "test_parse_webhook_gives_records_with_delivery_id": "passed",
    }


@pytest.mark.parametrize("failing_test", sorted(BROKEN))
def test_a_broken_connector_fails_the_right_contract_test(pytester: pytest.Pytester, failing_test: str) -> None:
    result = outcomes(pytester, broken_module(failing_test, BROKEN[failing_test]))
    failed = sorted(name for name, outcome in result.items() if outcome == "failed")
    # A pull that yields no PulledPage, or a mapping to the wrong channel, breaks the pulled-records test too.
    also = {
        "test_pull_orders_yields_pages_of_raw_records": ["test_pulled_records_map_or_are_quarantined"],
        "test_map_order_maps_samples_to_canonical_orders": ["test_pulled_records_map_or_are_quarantined"],
    }
    assert failed == sorted([failing_test, *also.get(failing_test, [])])


def test_a_config_model_that_accepts_unknown_keys_fails(pytester: pytest.Pytester) -> None:
    module = (
        "class LaxSettings(BaseModel):\n"
        "    currency: str = 'EUR'\n"
        "    webhook_secret: SecretStr = SecretStr('whsec-test')\n\n\n"
        "class LaxConnector(TinyConnector):\n    config_model = LaxSettings\n\n\n"
        "class TestLax(TinyContract):\n    connector_class = LaxConnector\n"
    )
    result = outcomes(pytester, module)
    assert sorted(n for n, o in result.items() if o == "failed") == ["test_config_model_rejects_unknown_keys"]


def test_a_missing_hook_fails_naming_it(pytester: pytest.Pytester) -> None:
    module = (
        "class TestNoEffects(TinyContract):\n"
        "    def count_effects(self, connector):\n"
        "        return ConnectorContract.count_effects(self, connector)\n"
    )
    pytester.makepyfile(test_kit=CONNECTORS + "\n\n" + module)
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "repeated")
    result.assert_outcomes(failed=2, skipped=1)  # the refund test: not declared
    result.stdout.fnmatch_lines(["*HookMissing: implement count_effects(connector)*"])
