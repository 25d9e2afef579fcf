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
