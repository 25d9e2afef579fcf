"""The fake shop refuses what Shopify's published schema refuses, and answers only what the schema allows."""

from __future__ import annotations

import json

import pytest
from channelhub_connectors.shopify import queries

from channelhub.errors import Fatal
from doubles.shopify import samples
from doubles.shopify.fake_schema import FakeAnswerError
from doubles.shopify.fake_shop import FakeShop


def _post(shop: FakeShop, query: str, variables: dict) -> dict:
    status, _, body = shop.handle(
        "POST", "/admin/api/2026-10/graphql.json", json.dumps({"query": query, "variables": variables}).encode()
    )
    assert status == 200
    return json.loads(body)


def test_a_field_the_version_does_not_have_is_refused_as_shopify_refuses_it() -> None:
    shop = FakeShop(orders=[samples.graphql_order(1)])
    answer = _post(shop, "query Order($id: ID!) { order(id: $id) { id fulfillmentStatus } }", {"id": "x"})
    assert "data" not in answer and answer["errors"]
    assert any("fulfillmentStatus" in m for m in shop.refused)


def test_variables_that_do_not_coerce_are_refused() -> None:
    shop = FakeShop()
    answer = _post(shop, queries.ORDERS, {"first": "many", "after": None, "query": None})
    assert answer["errors"] and shop.calls == []  # refused before the fake looked at it
    answer = _post(shop, queries.SET_QUANTITIES, {"input": {"name": "available", "reason": "correction"}})
    assert any("key" in m for m in shop.refused)  # the @idempotent key is a required variable of the document


def test_answers_hold_only_the_fields_asked_for() -> None:
    shop = FakeShop(orders=[samples.graphql_order(1)])
    answer = _post(shop, "query Order($id: ID!) { order(id: $id) { name } }", {"id": "gid://shopify/Order/820001"})
    assert answer["data"] == {"order": {"name": "#1001"}}


def test_an_answer_the_schema_forbids_is_a_bug_in_the_fake() -> None:
    broken = samples.graphql_order(1)
    broken["displayFinancialStatus"] = "paid"  # not a value of OrderDisplayFinancialStatus
    shop = FakeShop(orders=[broken])
    with pytest.raises(FakeAnswerError, match=r"OrderDisplayFinancialStatus|paid"):
        _post(shop, queries.ORDER, {"id": "gid://shopify/Order/820001"})


def test_the_connector_turns_a_schema_refusal_into_fatal(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    with pytest.raises(Fatal, match="Shopify refused the query"):
        connector.client.execute("query Nope { shop { nameThatDoesNotExist } }")
    assert shop.refused


def test_a_misspelt_field_in_the_connectors_own_document_is_refused() -> None:
    shop = FakeShop(orders=[samples.graphql_order(1)])
    misspelt = queries.ORDERS.replace("displayFinancialStatus", "displayFinancialStatuss")
    answer = _post(shop, misspelt, {"first": 10, "after": None, "query": None})
    assert "data" not in answer and shop.calls == []
    assert any("displayFinancialStatuss" in m for m in shop.refused)


def test_a_variable_of_the_wrong_type_is_refused() -> None:
    shop = FakeShop()
    shop.add_sku("A", 5, 1)
    quantity = {"inventoryItemId": "gid://shopify/InventoryItem/9001", "locationId": "gid://shopify/Location/1"}
    variables = {
        "key": "k",
        "input": {"name": "available", "reason": "correction", "quantities": [{**quantity, "quantity": "ten"}]},
    }
    answer = _post(shop, queries.SET_QUANTITIES, variables)
    assert "data" not in answer and shop.set_calls == 0
    assert any("quantity" in m and "Int" in m for m in shop.refused), shop.refused


@pytest.mark.parametrize(
    ("field", "value"),
    [("taxesIncluded", None), ("lineItems", [{"id": "x"}]), ("tags", "gift, vip")],
    ids=["null-for-non-null", "list-for-connection", "string-for-list"],
)
def test_a_fake_answer_of_the_wrong_shape_is_a_bug_in_the_fake(field: str, value: object) -> None:
    broken = samples.graphql_order(1)
    broken[field] = value
    shop = FakeShop(orders=[broken])
    with pytest.raises(FakeAnswerError):
        _post(shop, queries.ORDER, {"id": "gid://shopify/Order/820001"})


def test_an_answer_without_a_field_asked_for_is_a_bug_in_the_fake() -> None:
    broken = samples.graphql_order(1)
    del broken["lineItems"]["nodes"][0]["requiresShipping"]
    with pytest.raises(FakeAnswerError, match="requiresShipping"):
        _post(FakeShop(orders=[broken]), queries.ORDER, {"id": "gid://shopify/Order/820001"})


def test_a_bulk_query_with_a_connection_inside_a_list_is_refused_as_invalid() -> None:
    shop = FakeShop(orders=[samples.graphql_order(1)])
    inside = queries.BULK_ORDERS.replace("refunds {", "refunds { refundLineItems { edges { node { quantity } } } ", 1)
    answer = _post(shop, queries.BULK_RUN, {"query": inside})
    (error,) = answer["data"]["bulkOperationRunQuery"]["userErrors"]
    assert error["code"] == "INVALID" and "refundLineItems" in error["message"]
    answer = _post(shop, queries.BULK_RUN, {"query": queries.BULK_ORDERS})
    assert answer["data"]["bulkOperationRunQuery"]["userErrors"] == []


def test_the_bulk_result_is_the_bulk_querys_answer_checked_by_the_schema() -> None:
    order = samples.graphql_order(1, extras=True)
    shop = FakeShop(orders=[order])
    _post(shop, queries.BULK_RUN, {"query": queries.BULK_ORDERS})
    lines = [json.loads(line) for line in shop.bulk_jsonl().splitlines()]
    assert "fulfillments" not in lines[0] and "note" in lines[0]  # only what the bulk query asks for
    children = [line for line in lines[1:] if line.get("__parentId") == order["id"]]
    assert sum(line.get("__typename") == "LineItem" for line in children) == 6 and len(children) == len(lines) - 1
    order["displayFinancialStatus"] = "paid"
    with pytest.raises(FakeAnswerError):
        shop.bulk_jsonl()
