"""The connector contract kit, tested by running it: good connectors pass, and each broken one (or each contract
subclass whose hooks prove nothing) fails the contract test that guards the rule it breaks, for that reason.

The good connectors and their hooks live in tests/fixtures/plugins/tiny_contract.py; every case below subclasses
them, overriding only what it breaks, and runs the kit in a pytester session of its own.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from channelhub.testing.contract import ConnectorContract

pytest_plugins = ["pytester"]

TINY = Path(__file__).parent.parent / "fixtures" / "plugins" / "tiny_contract.py"
# The hypothesis plugin's end-of-session summary costs about a second per inner session, for nothing here.
INNER_ARGS = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest", "--strict-markers")
HEADER = textwrap.dedent(
    """
    from dataclasses import replace

    from channelhub.ports import RawRecord, WriteResult
    from channelhub.testing.contract import ConnectorContract
    from channelhub.testing.contract import ConnectorContract as TestLooksLikeATestButIsTheBase  # noqa: F401
    from tiny_contract import StockReaderConnector, StockReaderContract, TinyConnector, TinyContract
    """
)
KIT_TESTS = sorted(name for name in dir(ConnectorContract) if name.startswith("test_"))
REPEAT_TESTS = [name for name in KIT_TESTS if "repeated" in name]


@dataclass(frozen=True)
class Broken:
    """One broken case: `failing` must fail (and nothing else), the first of them with `message` in its report.

    `connector` holds methods of a subclass of `<base>Connector`, `contract` hooks of a subclass of
    `<base>Contract` (the collected Test class)."""

    failing: tuple[str, ...]
    message: str
    connector: str = ""
    contract: str = ""
    base: str = "Tiny"


BROKEN: dict[str, Broken] = {
    # --- orders ---
    "map_order raises a vendor error for a bad record": Broken(
        ("test_bad_records_are_quarantined",),
        "map_order raised KeyError for bad record bad 1",
        connector="""
            def map_order(self, record):
                return super().map_order(record) if ";" in record.body else {}["vendor_field"]
        """,
    ),
    "map_order accepts a bad record": Broken(
        ("test_bad_records_are_quarantined",),
        "map_order accepted bad record bad 1",
        connector="""
            def map_order(self, record):
                return super().map_order(record if ";" in record.body else replace(record, body="X;SKU-X;1"))
        """,
    ),
    "bad_records() only carries records with problem set": Broken(
        ("test_bad_records_are_quarantined",),
        "Add to bad_records() at least one record without `problem`",
        connector="""
            def map_order(self, record):
                return super().map_order(record) if ";" in record.body else {}["vendor_field"]
        """,
        contract="""
            def bad_records(self):
                return [RawRecord("orders", "bad 2", "", problem="bad bytes")]
        """,
    ),
    "map_order answers differently each time": Broken(
        ("test_map_order_is_deterministic",),
        "map_order gave two answers",
        connector="""
            calls = [0]

            def map_order(self, record):
                self.calls[0] += 1
                return super().map_order(record).model_copy(update={"extra": {"seen": self.calls[0]}})
        """,
    ),
    "map_order maps to another channel": Broken(
        ("test_map_order_maps_samples_to_canonical_orders", "test_pulled_records_map_or_are_quarantined"),
        "order.channel is 'somewhere-else'",
        connector="""
            def map_order(self, record):
                return super().map_order(record).model_copy(update={"channel": "somewhere-else"})
        """,
    ),
    "pull_orders yields lists, not pages": Broken(
        ("test_pull_orders_yields_pages_of_raw_records", "test_pulled_records_map_or_are_quarantined"),
        "pull_orders yielded list, not PulledPage",
        connector="""
            def pull_orders(self, request):
                yield [{"id": "A1"}]
        """,
    ),
    # --- push_stock ---
    "push_stock writes nothing": Broken(
        ("test_push_stock_repeated_is_safe", "test_pull_stock_returns_quantities"),
        "the first write changed nothing at the receiving side",
        connector="""
            def push_stock(self, updates):
                return [WriteResult(u.idempotency_key, confirmed_quantity=u.quantity) for u in updates]
        """,
    ),
    "push_stock leaves an effect per call": Broken(
        ("test_push_stock_repeated_is_safe",),
        "push_stock repeated with the same idempotency key changed more",
        connector="""
            def push_stock(self, updates):
                self.remote.stock_calls.append(len(updates))
                return super().push_stock(updates)
        """,
    ),
    "push_stock drops a result": Broken(
        ("test_push_stock_returns_one_result_per_update",),
        "push_stock answered for keys ['contract-stock-1'], it was sent ['contract-stock-0', 'contract-stock-1']",
        connector="""
            def push_stock(self, updates):
                return super().push_stock(updates)[1:]
        """,
    ),
    "push_stock reports every update refused": Broken(
        ("test_push_stock_returns_one_result_per_update", "test_push_stock_repeated_is_safe"),
        "push_stock refused sample updates: contract-stock-0: SKU unknown; contract-stock-1: SKU unknown",
        connector="""
            def push_stock(self, updates):
                super().push_stock(updates)
                return [WriteResult(u.idempotency_key, error="SKU unknown") for u in updates]
        """,
    ),
    "push_stock confirms other quantities": Broken(
        ("test_push_stock_returns_one_result_per_update", "test_push_stock_repeated_is_safe"),
        "contract-stock-0: asked 0, confirmed 1",
        connector="""
            def push_stock(self, updates):
                super().push_stock(updates)
                return [WriteResult(u.idempotency_key, confirmed_quantity=u.quantity + 1) for u in updates]
        """,
    ),
    # --- pull_stock ---
    "pull_stock returns nothing": Broken(
        ("test_pull_stock_returns_quantities",),
        "pull_stock left out ['CONTRACT-0', 'CONTRACT-1']",
        connector="""
            def pull_stock(self, skus):
                return {}
        """,
    ),
    "pull_stock answers other SKUs": Broken(
        ("test_pull_stock_returns_quantities",),
        "pull_stock answered for ['OTHER-0', 'OTHER-1'], which were not asked for",
        connector="""
            def pull_stock(self, skus):
                return {sku.replace("CONTRACT", "OTHER"): 1 for sku in skus}
        """,
    ),
    "pull_stock reads other quantities": Broken(
        ("test_pull_stock_returns_quantities",),
        "CONTRACT-0: 5, not 0",
        connector="""
            def pull_stock(self, skus):
                return dict.fromkeys(skus, 5)
        """,
    ),
    "pull_stock answers what this instance pushed, not what the channel holds": Broken(
        ("test_pull_stock_returns_quantities",),
        "pull_stock on a fresh instance left out",
        connector="""
            def push_stock(self, updates):
                self.pushed = {u.sku: u.quantity for u in updates}
                return super().push_stock(updates)

            def pull_stock(self, skus):
                return {sku: self.pushed[sku] for sku in skus if sku in getattr(self, "pushed", {})}
        """,
    ),
    "a read-only pull_stock returns nothing": Broken(
        ("test_pull_stock_returns_quantities",),
        "pull_stock left out ['READ-1', 'READ-2'], which the test channel lists",
        base="StockReader",
        connector="""
            def pull_stock(self, skus):
                return {}
        """,
    ),
    # --- order writes ---
    "push_fulfillment ships on every call": Broken(
        ("test_push_fulfillment_repeated_does_not_ship_twice",),
        "push_fulfillment repeated with the same idempotency key shipped twice",
        connector="""
            def push_fulfillment(self, request):
                shipments = self.remote.shipments
                shipments[f"{request.idempotency_key}-{len(shipments)}"] = request.shipment.tracking_number
        """,
    ),
    "push_fulfillment does nothing": Broken(
        ("test_push_fulfillment_repeated_does_not_ship_twice",),
        "the first write changed nothing at the receiving side",
        connector="""
            def push_fulfillment(self, request):
                pass
        """,
    ),
    "push_refund does nothing": Broken(
        ("test_push_refund_repeated_does_not_refund_twice",),
        "the first write changed nothing at the receiving side",
        connector="""
            def push_refund(self, request):
                pass
        """,
    ),
    "push_refund refunds on every call": Broken(
        ("test_push_refund_repeated_does_not_refund_twice",),
        "push_refund repeated with the same idempotency key refunded twice",
        connector="""
            def push_refund(self, request):
                self.remote.refunds[f"{request.idempotency_key}-{len(self.remote.refunds)}"] = request.amount
        """,
    ),
    "push_cancellation does nothing": Broken(
        ("test_push_cancellation_repeated_does_not_cancel_twice",),
        "the first write changed nothing at the receiving side",
        connector="""
            def push_cancellation(self, request):
                pass
        """,
    ),
    "push_cancellation remembers done keys only in memory": Broken(
        ("test_push_cancellation_repeated_does_not_cancel_twice",),
        "push_cancellation repeated after a restart (on a fresh instance) cancelled twice",
        connector="""
            def push_cancellation(self, request):
                done = self.__dict__.setdefault("done", set())
                if request.idempotency_key not in done:
                    done.add(request.idempotency_key)
                    self.remote.cancelled[f"{request.order_external_id}-{len(self.remote.cancelled)}"] = "x"
        """,
    ),
    "count_effects() does not see the writes": Broken(
        tuple(REPEAT_TESTS),
        "the first write changed nothing at the receiving side",
        contract="""
            def count_effects(self, connector):
                return 0
        """,
    ),
    # --- webhooks ---
    # --- webhook subscriptions ---
    "register_webhooks subscribes again every time": Broken(
        ("test_register_webhooks_twice_subscribes_once",),
        "register_webhooks repeated gave other subscriptions",
        connector="""
            def register_webhooks(self, url):
                self.remote.hooks[f"h{len(self.remote.hooks) + 1}"] = ("orders/create", url)
                return [s for s in self.list_webhooks() if s.address == url]
        """,
    ),
    "remove_webhooks removes every address": Broken(
        ("test_remove_webhooks_removes_those_at_the_url_only",),
        "touched the ones at",
        connector="""
            def remove_webhooks(self, url):
                removed = [s for s in self.list_webhooks() if s.address == url]
                self.remote.hooks.clear()
                return removed
        """,
    ),
    "verify_webhook checks no signature": Broken(
        ("test_verify_webhook_rejects_tampered_body",),
        "a tampered body was accepted",
        connector="""
            def verify_webhook(self, headers, raw_body):
                return "X-Signature" in headers
        """,
    ),
}


def case_module(case: Broken) -> str:
    connector = f"{case.base}Connector"
    parts = [HEADER]
    if case.connector:
        parts.append(f"class BrokenConnector({connector}):\n{_indent(case.connector)}\n")
        connector = "BrokenConnector"
    parts.append(
        f"class TestBroken({case.base}Contract):\n    connector_class = {connector}\n{_indent(case.contract)}\n"
    )
    return "\n\n".join(parts)


def _indent(code: str) -> str:
    return textwrap.indent(textwrap.dedent(code).strip(), "    ") if code.strip() else ""


def run_kit(pytester: pytest.Pytester, module: str) -> dict[str, tuple[str, str]]:
    """{contract test name: (outcome, report text)} of a pytester session over `module`."""
    pytester.makepyfile(tiny_contract=TINY.read_text(encoding="utf-8"), test_kit=module)
    run = pytester.inline_run(*INNER_ARGS, "-m", "contract")
    reports = [r for r in run.getreports("pytest_runtest_logreport") if r.when == "call" or r.outcome != "passed"]
    classes = {r.nodeid.split("::")[1] for r in reports}
    # Only the Test* subclass is collected: not the base (even imported under a Test* name), not TinyContract.
    assert len(classes) == 1 and next(iter(classes)).startswith("Test"), classes
    return {r.nodeid.split("::")[-1]: (r.outcome, r.longreprtext) for r in reports}


def outcomes(pytester: pytest.Pytester, module: str) -> dict[str, str]:
    return {name: outcome for name, (outcome, _) in run_kit(pytester, module).items()}


def test_a_good_connector_passes_every_contract_test(pytester: pytest.Pytester) -> None:
    module = HEADER + "\n\nclass TestTiny(TinyContract):\n    pass\n"
    assert outcomes(pytester, module) == dict.fromkeys(KIT_TESTS, "passed")


def test_a_read_only_stock_connector_passes_and_undeclared_capabilities_are_skipped(
    pytester: pytest.Pytester,
) -> None:
    module = HEADER + "\n\nclass TestReader(StockReaderContract):\n    pass\n"
    passed = {
        "test_class_attributes_are_valid",
        "test_config_model_rejects_unknown_keys",
        "test_pull_stock_returns_quantities",
    }
    expected = {name: "passed" if name in passed else "skipped" for name in KIT_TESTS}
    assert outcomes(pytester, module) == expected


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_connector_fails_the_right_contract_test(pytester: pytest.Pytester, case: str) -> None:
    broken = BROKEN[case]
    result = run_kit(pytester, case_module(broken))
    failed = sorted(name for name, (outcome, _) in result.items() if outcome == "failed")
    assert failed == sorted(broken.failing)
    report = result[broken.failing[0]][1]
    assert broken.message in report, report


def test_a_config_model_that_accepts_unknown_keys_fails(pytester: pytest.Pytester) -> None:
    module = HEADER + textwrap.dedent(
        """
        from pydantic import BaseModel, SecretStr


        class LaxSettings(BaseModel):
            currency: str = "EUR"
            webhook_secret: SecretStr = SecretStr("whsec-test")


        class LaxConnector(TinyConnector):
            config_model = LaxSettings


        class TestLax(TinyContract):
            connector_class = LaxConnector
        """
    )
    result = outcomes(pytester, module)
    assert sorted(n for n, o in result.items() if o == "failed") == ["test_config_model_rejects_unknown_keys"]


@pytest.mark.parametrize(
    ("hook", "base", "tests", "message"),
    [
        ("count_effects", "Tiny", REPEAT_TESTS, "HookMissing: implement count_effects(connector)"),
        ("sample_stock_levels", "StockReader", ["test_pull_stock_returns_quantities"], "implement sample_stock_levels"),
    ],
)
def test_a_missing_hook_fails_naming_it(
    pytester: pytest.Pytester, hook: str, base: str, tests: list[str], message: str
) -> None:
    module = HEADER + (
        f"\n\nclass TestNoHook({base}Contract):\n"
        f"    def {hook}(self, *args):\n"
        f"        return ConnectorContract.{hook}(self, *args)\n"
    )
    result = run_kit(pytester, module)
    failed = sorted(name for name, (outcome, _) in result.items() if outcome == "failed")
    assert failed == sorted(tests)
    assert all(message in result[name][1] for name in tests), result[tests[0]][1]
