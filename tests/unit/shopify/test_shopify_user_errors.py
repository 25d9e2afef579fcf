"""The error table (`user_errors`) has a row for every userError code the pinned schema lists for each mutation
the connector sends, and the writers do what the rows say."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from channelhub_connectors.shopify import queries, user_errors
from graphql import GraphQLEnumType, OperationDefinitionNode, OperationType, get_named_type, parse

from channelhub.errors import Fatal
from channelhub.ports import StockUpdate
from doubles.shopify.fake_schema import admin_schema
from doubles.shopify.fake_shop import FakeShop


def _mutations_sent() -> set[str]:
    found: set[str] = set()
    for _, document in inspect.getmembers(queries, lambda v: isinstance(v, str) and v.lstrip().startswith("mutation")):
        for definition in parse(document).definitions:
            if isinstance(definition, OperationDefinitionNode) and definition.operation == OperationType.MUTATION:
                found.update(s.name.value for s in definition.selection_set.selections)  # type: ignore[attr-defined]
    return found


def _codes(mutation: str) -> set[str] | None:
    """The values of the `code` enum of the mutation payload's userErrors types (None: they carry no code)."""
    schema = admin_schema().schema
    assert schema.mutation_type is not None
    payload = get_named_type(schema.mutation_type.fields[mutation].type)
    codes: set[str] | None = None
    for name, field in payload.fields.items():  # type: ignore[union-attr]
        error_type = get_named_type(field.type)
        if not name.lower().endswith("usererrors") or "code" not in error_type.fields:  # type: ignore[union-attr]
            continue
        enum = get_named_type(error_type.fields["code"].type)  # type: ignore[union-attr]
        assert isinstance(enum, GraphQLEnumType)
        codes = (codes or set()) | set(enum.values)
    return codes


def test_every_mutation_the_connector_sends_has_a_table() -> None:
    sent = _mutations_sent()
    assert {
        "inventorySetQuantities",
        "fulfillmentCreate",
        "refundCreate",
        "orderCancel",
        "bulkOperationRunQuery",
    } <= sent
    assert sent <= set(user_errors.TABLES), sent - set(user_errors.TABLES)


@pytest.mark.parametrize("mutation", sorted(user_errors.TABLES))
def test_every_code_the_schema_lists_has_a_row(mutation: str) -> None:
    codes, table = _codes(mutation), user_errors.TABLES[mutation]
    if codes is None:
        assert table is None, f"{mutation}'s userErrors carry no code in the schema"
        return
    assert table is not None, f"{mutation} has userError codes {sorted(codes)} and no table"
    assert sorted(codes - set(table)) == [], f"codes of {mutation} without a row"
    assert sorted(set(table) - codes) == [], f"rows of {mutation} for codes the schema does not have"


class ScriptedErrors(FakeShop):
    """A shop whose next inventorySetQuantities answers the scripted userErrors."""

    script: list[dict[str, Any]] = []

    def op_SetQuantities(self, v: dict[str, Any]) -> dict[str, Any]:
        if self.script:
            errors, self.script = self.script, []
            return {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": errors}}
        return super().op_SetQuantities(v)


def _push(fake_connector, *errors: dict[str, Any]):
    shop = ScriptedErrors()
    shop.script = list(errors)
    shop.add_sku("A", 5, 1)
    connector, shop, _ = fake_connector(shop)
    return connector.push_stock([StockUpdate("A", 3, "k-a", previous=5)])[0], shop


def test_a_concurrent_request_with_the_same_key_is_retried_later(fake_connector) -> None:
    error = {
        "field": None,
        "message": "A request with this key is in progress",
        "code": "IDEMPOTENCY_CONCURRENT_REQUEST",
    }
    result, _ = _push(fake_connector, error)
    assert not result.ok and result.retryable and "IDEMPOTENCY_CONCURRENT_REQUEST" in (result.error or "")


def test_a_key_reused_for_other_parameters_is_a_hub_bug_dead_and_loud(fake_connector, caplog) -> None:
    error = {
        "field": ["idempotencyKey"],
        "message": "Key used with other parameters",
        "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
    }
    result, _ = _push(fake_connector, error)
    assert not result.ok and not result.retryable and "a hub bug" in (result.error or "")
    assert any("hub bug" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)


def test_compare_quantity_stale_is_the_stale_rule_like_change_from_quantity_stale(fake_connector) -> None:
    error = {
        "field": ["input", "quantities", "0", "changeFromQuantity"],
        "message": "stale",
        "code": "COMPARE_QUANTITY_STALE",
    }
    result, shop = _push(fake_connector, error)
    assert result.ok and result.confirmed_quantity == 3 and shop.available("A") == 3  # re-read 5, lower: re-sent


def test_a_location_shopify_does_not_know_stops_the_channel(fake_connector) -> None:
    error = {"field": ["input", "quantities", "0", "locationId"], "message": "no location", "code": "INVALID_LOCATION"}
    with pytest.raises(Fatal, match="INVALID_LOCATION"):
        _push(fake_connector, error)
