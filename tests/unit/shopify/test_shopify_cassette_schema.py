"""Every recorded Shopify request and answer is one Shopify's published schema allows: a cassette cannot hold what
the real API would refuse or never send (an unknown field, a variable of the wrong type, an enum value such as a
userError code the version does not have). The bulk JSONL result is checked against the bulk query that made it."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from channelhub_connectors.shopify import orders

from conftest import CASSETTES
from doubles.shopify.fake_schema import admin_schema

CASSETTE_FILES = sorted(CASSETTES.glob("*.yaml"))


def _interactions(path) -> list[dict[str, Any]]:
    return yaml.safe_load(path.read_text())["interactions"]


def _body(part: dict[str, Any]) -> str:
    body = part["body"]
    text = body.get("string", "") if isinstance(body, dict) else body
    return text.decode() if isinstance(text, bytes) else str(text or "")


def _problems(path) -> list[str]:
    schema = admin_schema()
    problems: list[str] = []
    bulk_query = ""
    for n, item in enumerate(_interactions(path), 1):
        request, response = item["request"], item["response"]
        where = f"{path.name} #{n}"
        if request["method"] == "GET" and "/bulk/" in request["uri"]:
            problems += [f"{where} (bulk result): {p}" for p in _bulk_problems(bulk_query, _body(response))]
            continue
        sent = json.loads(_body(request))
        query, variables = sent["query"], sent.get("variables") or {}
        problems += [f"{where} request: {m}" for m in schema.refusals(query, variables)]
        if "bulkOperationRunQuery" in query:
            bulk_query = variables["query"]
            problems += [f"{where} bulk query: {m}" for m in schema.bulk_refusals(bulk_query)]
        if response["status"]["code"] != 200:
            continue
        answer = json.loads(_body(response))
        if answer.get("data") is not None:
            problems += [f"{where} answer: {m}" for m in schema.answer_problems(query, variables, answer["data"])]
    return problems


def _bulk_problems(bulk_query: str, jsonl: str) -> list[str]:
    if not bulk_query:
        return ["a bulk result without a bulk operation before it"]
    records = list(orders.join_jsonl([line.encode() for line in jsonl.splitlines() if line.strip()], "bulk"))
    if any(r.problem for r in records):
        return [str(r.problem) for r in records if r.problem]
    nodes = [json.loads(r.body) for r in records]
    for node in nodes:  # join_jsonl adds the connections the bulk query has but an order lacks: not Shopify's
        for key in set(orders.CHILD_KEYS.values()):
            node.setdefault(key, {"nodes": []})
    data = {"orders": {"nodes": nodes}}
    try:
        admin_schema().answer(bulk_query, {}, data)
    except AssertionError as exc:
        return [str(exc)]
    return []


@pytest.mark.parametrize("path", CASSETTE_FILES, ids=[p.stem for p in CASSETTE_FILES])
def test_every_recorded_request_and_answer_is_valid_for_shopifys_schema(path) -> None:
    assert _problems(path) == []


def test_the_check_catches_a_user_error_code_the_version_does_not_have(tmp_path) -> None:
    source = CASSETTES / "stock_push.yaml"
    text = source.read_text()
    assert "NON_MUTABLE_INVENTORY_ITEM" in text
    broken = tmp_path / "stock_push.yaml"
    broken.write_text(text.replace("NON_MUTABLE_INVENTORY_ITEM", "ITEM_NOT_STOCKED_AT_LOCATION"))
    problems = _problems(broken)
    assert problems and all("InventorySetQuantitiesUserErrorCode" in p for p in problems), problems


def test_the_check_catches_a_misspelt_field_in_a_recorded_request(tmp_path) -> None:
    broken = tmp_path / "paging.yaml"
    broken.write_text((CASSETTES / "paging.yaml").read_text().replace("displayFinancialStatus", "financialStatus"))
    assert any("financialStatus" in p and "request" in p for p in _problems(broken))


def test_every_cassette_is_checked() -> None:
    assert len(CASSETTE_FILES) >= 11 and all(_interactions(p) for p in CASSETTE_FILES)
