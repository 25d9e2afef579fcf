"""Shopify's published Admin GraphQL schema, for the fake shop (`fake_shop.FakeShop`): what a request must be and
what an answer may hold. Test-only: the connector never imports this module, nor graphql-core.

The schema is Shopify's own introspection of the pinned version (the file Shopify ships in its `@shopify/dev-mcp`
npm package as `dist/data/admin_<version>.json.gz`). It is not copied into the project; it is found at
`$CHANNELHUB_SHOPIFY_SCHEMA`, else at `tests/fixtures/shopify/admin-graphql-<version>.introspection.json.gz` of
this checkout (the pinned version ships with the tests), else in `shared/reference/shopify/` above it.

`AdminSchema.refusals(query, variables)` is what a real shop answers with `errors` and no `data`: a document that
does not parse or validate (unknown field, wrong argument, missing `@idempotent` argument...), or variables that do
not coerce (a required one missing, an enum value the type does not have). `AdminSchema.answer(...)` runs the
document over the fake's data and returns it shaped as Shopify would answer it (only the fields asked for, in
order); a field the fake left out, a null where the schema says non-null, an enum value or a scalar the schema
does not allow raises `FakeAnswerError`: that is a bug in the fake, not something Shopify would do.
"""

from __future__ import annotations

import gzip
import json
import os
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

try:  # graphql-core is a test dependency: the fake shop needs it, the connector does not
    from graphql import (
        DocumentNode,
        FieldNode,
        GraphQLError,
        GraphQLList,
        GraphQLNonNull,
        GraphQLResolveInfo,
        GraphQLScalarType,
        GraphQLSchema,
        InlineFragmentNode,
        OperationDefinitionNode,
        OperationType,
        SelectionSetNode,
        build_client_schema,
        execute_sync,
        get_named_type,
        parse,
        validate,
    )
    from graphql.execution.values import get_variable_values
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the fake Shopify shop validates every request and answer against Shopify's schema and needs graphql-core "
        "(pip install 'graphql-core>=3.2,<3.3', part of the project's test dependencies)"
    ) from exc

SCHEMA_ENV = "CHANNELHUB_SHOPIFY_SCHEMA"
_GID = re.compile(r"^gid://shopify/(\w+)/")
_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


class FakeAnswerError(AssertionError):
    """The fake shop built an answer that Shopify's schema does not allow."""


def schema_file(version: str) -> Path:
    """Where the introspection of `version` is; FileNotFoundError saying where it was looked for."""
    name = f"admin-graphql-{version}.introspection.json.gz"
    explicit = os.environ.get(SCHEMA_ENV)
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise FileNotFoundError(f"${SCHEMA_ENV} names {path}, which is not a file")
        return path
    here = Path(__file__).resolve()
    for folder in here.parents:
        # The pinned version ships with the tests (tests/fixtures/shopify, see the README there); a newer one
        # may sit in the team's shared reference folder beside the checkout.
        for candidate in (
            folder / "tests" / "fixtures" / "shopify" / name,
            folder / "shared" / "reference" / "shopify" / name,
        ):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"Shopify's schema {name} was not found in tests/fixtures/shopify/ or shared/reference/shopify/ above "
        f"{here.parent}; set "
        f"${SCHEMA_ENV} to the file (Shopify ships it in the npm package @shopify/dev-mcp as "
        f"dist/data/admin_{version}.json.gz)"
    )


@cache
def admin_schema(version: str = "2026-10") -> AdminSchema:
    """The schema of `version`, loaded once per process (about half a second)."""
    path = schema_file(version)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    return AdminSchema(build_client_schema(data.get("data", data), assume_valid=True))


class AdminSchema:
    """Checks requests against the schema and shapes the fake's answers by it."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self._documents: dict[str, DocumentNode | list[str]] = {}
        _strict_scalars(schema)

    def refusals(self, query: str, variables: Mapping[str, Any]) -> list[str]:
        """Why Shopify would refuse this request (empty: it would run it)."""
        document = self._document(query)
        if isinstance(document, list):
            return document
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        coerced = get_variable_values(self.schema, operation.variable_definitions or (), dict(variables))
        if isinstance(coerced, list):
            return [error.message for error in coerced]
        return []

    def answer(self, query: str, variables: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        """`data` as Shopify would send it for this (valid) request; FakeAnswerError when the schema forbids it."""
        document = self._document(query)
        assert not isinstance(document, list), "answer() needs a request that refusals() accepted"
        result = execute_sync(
            self.schema,
            document,
            root_value=dict(data),
            variable_values=dict(variables),
            field_resolver=_present_field,
            type_resolver=_typename,
        )
        if result.errors:
            detail = "; ".join(f"{'.'.join(map(str, e.path or ()))}: {e.message}" for e in result.errors[:5])
            raise FakeAnswerError(f"the fake shop's answer breaks Shopify's schema: {detail}")
        return dict(result.data or {})

    def answer_problems(self, query: str, variables: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
        """Why `data` is not an answer Shopify could give to this request (empty: it could). For recorded answers."""
        refusals = self.refusals(query, variables)
        if refusals:
            return [f"the request itself is refused: {m}" for m in refusals]
        try:
            shaped = self.answer(query, variables, data)
        except FakeAnswerError as exc:
            return [str(exc)]
        return (
            [] if shaped == dict(data) else ["the answer holds fields the request did not ask for, or misorders them"]
        )

    def bulk_refusals(self, query: str) -> list[str]:
        """Why `bulkOperationRunQuery` would refuse this bulk query (Shopify answers a userError INVALID): it must be a
        valid query, and a connection may not sit inside a list field (Shopify cannot split it into JSONL lines)."""
        document = self._document(query)
        if isinstance(document, list):
            return document
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        if operation.operation != OperationType.QUERY:
            return ["a bulk operation runs a query"]
        problems: list[str] = []
        _connections_in_lists(self.schema, self.schema.query_type, operation.selection_set, False, "", problems)
        return problems

    def _document(self, query: str) -> DocumentNode | list[str]:
        """The parsed document, or why it does not parse or validate (cached: the fake sends few documents)."""
        if query not in self._documents:
            try:
                document = parse(query)
            except GraphQLError as exc:
                self._documents[query] = [exc.message]
            else:
                errors = validate(self.schema, document)
                self._documents[query] = [e.message for e in errors] if errors else document
        return self._documents[query]


def _present_field(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """A field's value in the fake's dict. A missing key is an error: Shopify answers every field asked for."""
    if not isinstance(source, Mapping):
        raise GraphQLError(f"{info.parent_type.name} is not an object in the fake's answer: {source!r}")
    if info.field_name not in source:
        # A connection answers `nodes` and `edges` alike; the fake keeps one of them.
        if info.field_name == "edges" and isinstance(source.get("nodes"), list):
            return [{"node": node} for node in source["nodes"]]
        if info.field_name == "nodes" and isinstance(source.get("edges"), list):
            return [edge.get("node") for edge in source["edges"]]
        raise GraphQLError(f"the fake's answer has no {info.parent_type.name}.{info.field_name}")
    return source[info.field_name]


def _connections_in_lists(
    schema: GraphQLSchema, parent: Any, selections: SelectionSetNode | None, in_list: bool, path: str, out: list[str]
) -> None:
    """Note every connection field selected below a list field (`in_list`), walking the bulk query's selections."""
    if selections is None:
        return
    for node in selections.selections:
        if isinstance(node, InlineFragmentNode):
            target = schema.type_map[node.type_condition.name.value] if node.type_condition else parent
            _connections_in_lists(schema, target, node.selection_set, in_list, path, out)
            continue
        if not isinstance(node, FieldNode):
            continue
        field_def = getattr(parent, "fields", {}).get(node.name.value)
        if field_def is None:
            continue
        named = get_named_type(field_def.type)
        here = f"{path}.{node.name.value}" if path else node.name.value
        if in_list and named.name.endswith("Connection"):
            out.append(f"the connection {here} is inside a list field: not allowed in a bulk query")
        listed = _is_list(field_def.type) and not parent.name.endswith("Connection")  # a connection's edges/nodes
        _connections_in_lists(schema, named, node.selection_set, in_list or listed, here, out)


def _is_list(type_: Any) -> bool:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)


def _typename(value: Any, info: GraphQLResolveInfo, abstract_type: Any) -> str | None:
    """An interface or union member's type: its `__typename`, else the type its gid names, else (an answer that
    asked only for the interface's own fields, as a recorded one may) the first member that has every field the
    value holds: any such member shapes those fields alike."""
    if not isinstance(value, Mapping):
        return None
    if isinstance(value.get("__typename"), str):
        return str(value["__typename"])
    match = _GID.match(str(value.get("id") or ""))
    if match:
        return match.group(1)
    for member in info.schema.get_possible_types(abstract_type):
        if set(value) <= set(member.fields):
            return member.name
    return None


def _strict_scalars(schema: GraphQLSchema) -> None:
    """Shopify's custom scalars travel as strings of a given form; a client schema would pass anything."""
    checks = {
        "DateTime": lambda v: isinstance(v, str) and bool(_DATETIME.match(v)),
        "Decimal": _decimal_string,
        "Money": _decimal_string,
        "UnsignedInt64": lambda v: isinstance(v, str) and v.isdigit(),
        "URL": lambda v: isinstance(v, str) and v.startswith(("http://", "https://")),
    }
    for name, ok in checks.items():
        scalar = schema.type_map.get(name)
        if isinstance(scalar, GraphQLScalarType):
            scalar.serialize = _checked(name, ok)  # type: ignore[method-assign]


def _checked(name: str, ok: Any) -> Any:
    def serialize(value: Any) -> Any:
        if not ok(value):
            raise GraphQLError(f"{value!r} is not a valid {name}")
        return value

    return serialize


def _decimal_string(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True
