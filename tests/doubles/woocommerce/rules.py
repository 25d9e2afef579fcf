"""What the fake store refuses, as WooCommerce (WordPress REST) refuses it, each rule with its source.

Sources: the WooCommerce REST API v3 docs (woocommerce.github.io/woocommerce-rest-api-docs, `wp-api-v3`:
"List all orders", "List all products", "List all product variations", "List all order notes" give each
route's parameters, types and options; "Batch update ..." the 100-object limit), WordPress's
`WP_REST_Request::has_valid_params` (a registered argument that fails its schema -> 400 `rest_invalid_param`,
"Invalid parameter(s): <names>", `data.params` {name: reason}) and WooCommerce's
`WC_REST_Controller::check_batch_limit` (more than 100 objects -> 413 `woocommerce_rest_request_entity_too_large`,
"Unable to accept more than 100 items for this request.").

WordPress does NOT refuse a parameter a route does not register: it only validates registered arguments and
leaves the rest on the request, unread (WordPress Trac #35000 "Strict mode for REST API endpoints" proposed
refusing them and was never adopted). A real store would silently ignore such a parameter, so a client that
sends one believes it asked for something it did not get. The fake answers it with a loud 400 of its own,
`fake_unknown_parameter`, which no real store sends: it is the client that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Reply = tuple[int, dict[str, str], Any]

BATCH_LIMIT = 100
ORDER_STATUSES = ("any", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
# Parameters WordPress itself reads on every route, and the authentication the `woocommerce` client adds.
GLOBAL = {"_fields", "_embed", "_envelope", "_jsonp", "_method", "consumer_key", "consumer_secret"}
OAUTH = re.compile(r"^oauth_")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")

Spec = tuple[str, tuple[str, ...]]  # (type, enum options)
COLLECTION: dict[str, Spec] = {
    "context": ("string", ("view", "edit")),
    "page": ("page", ()),
    "per_page": ("per_page", ()),
    "search": ("string", ()),
    "after": ("date-time", ()),
    "before": ("date-time", ()),
    "exclude": ("array", ()),
    "include": ("array", ()),
    "offset": ("integer", ()),
    "order": ("string", ("asc", "desc")),
    "parent": ("array", ()),
    "parent_exclude": ("array", ()),
}
PRODUCT_FILTERS: dict[str, Spec] = {
    "slug": ("string", ()),
    "status": ("string", ("any", "draft", "pending", "private", "publish")),
    "sku": ("string", ()),
    "tax_class": ("string", ()),
    "on_sale": ("boolean", ()),
    "min_price": ("string", ()),
    "max_price": ("string", ()),
    "stock_status": ("string", ("instock", "outofstock", "onbackorder")),
}
MODIFIED: dict[str, Spec] = {
    "modified_after": ("date-time", ()),
    "modified_before": ("date-time", ()),
    "dates_are_gmt": ("boolean", ()),
}
# GET routes: (a pattern of the path under wc/v3/, its parameters).
ROUTES: tuple[tuple[re.Pattern[str], dict[str, Spec]], ...] = (
    (
        re.compile(r"^orders$"),
        {
            **COLLECTION,
            **MODIFIED,
            "orderby": ("string", ("date", "id", "include", "title", "slug")),
            "status": ("status-array", ORDER_STATUSES),
            "customer": ("integer", ()),
            "product": ("integer", ()),
            "dp": ("integer", ()),
        },
    ),
    (re.compile(r"^orders/\d+$"), {"context": ("string", ("view", "edit")), "dp": ("integer", ())}),
    (
        re.compile(r"^orders/\d+/notes$"),
        {"context": ("string", ("view", "edit")), "type": ("string", ("any", "customer", "internal"))},
    ),
    (
        re.compile(r"^products$"),
        {
            **COLLECTION,
            **MODIFIED,
            **PRODUCT_FILTERS,
            "orderby": ("string", ("date", "id", "include", "title", "slug", "price", "popularity", "rating")),
            "type": ("string", ("simple", "grouped", "external", "variable")),
            "featured": ("boolean", ()),
            "category": ("string", ()),
            "tag": ("string", ()),
            "shipping_class": ("string", ()),
            "attribute": ("string", ()),
            "attribute_term": ("string", ()),
        },
    ),
    (re.compile(r"^products/\d+$"), {"context": ("string", ("view", "edit"))}),
    (
        re.compile(r"^products/\d+/variations$"),
        {**COLLECTION, **PRODUCT_FILTERS, "orderby": ("string", ("date", "id", "include", "title", "slug"))},
    ),
    (re.compile(r"^products/\d+/variations/\d+$"), {"context": ("string", ("view", "edit"))}),
    (  # "List all webhooks"
        re.compile(r"^webhooks$"),
        {
            **COLLECTION,
            "orderby": ("string", ("date", "id", "include", "title", "slug")),
            "status": ("string", ("all", "active", "paused", "disabled")),
        },
    ),
    (re.compile(r"^webhooks/\d+$"), {"context": ("string", ("view", "edit"))}),
)


def error(status: int, code: str, message: str, **data: Any) -> Reply:
    return status, {}, {"code": code, "message": message, "data": {"status": status, **data}}


def invalid(reasons: Mapping[str, str]) -> Reply:
    """WordPress's answer to registered arguments that fail their schema (`WP_REST_Request::has_valid_params`)."""
    return error(400, "rest_invalid_param", f"Invalid parameter(s): {', '.join(reasons)}", params=dict(reasons))


def unknown(names: list[str], where: str) -> Reply:
    return error(
        400,
        "fake_unknown_parameter",
        f"{where} does not take {', '.join(names)}: WooCommerce would silently ignore "
        f"{'it' if len(names) == 1 else 'them'}, so the client is wrong to send {'it' if len(names) == 1 else 'them'}",
        params=dict.fromkeys(names, "not a parameter of this route"),
    )


def check_query(path: str, query: Mapping[str, list[str]]) -> Reply | None:
    """The refusal for a GET's query string, or None when WooCommerce would take it."""
    specs = next((specs for pattern, specs in ROUTES if pattern.match(path)), None)
    if specs is None:
        return None  # the route itself answers 404
    names = [n for n in query if n not in GLOBAL and not OAUTH.match(n)]
    extra = [n.removesuffix("[]") for n in names if n.removesuffix("[]") not in specs]
    if extra:
        return unknown(sorted(extra), f"GET wc/v3/{path}")
    reasons = {}
    for name in names:
        reason = _reason(name.removesuffix("[]"), query[name], specs[name.removesuffix("[]")])
        if reason:
            reasons[name.removesuffix("[]")] = reason
    return invalid(reasons) if reasons else None


def _reason(name: str, values: list[str], spec: Spec) -> str:
    """Why `values` (the query's values of `name`) fail `spec`, in WordPress's words; "" when they pass."""
    kind, options = spec
    value = values[-1]
    if kind == "per_page":
        if not _is_int(value):
            return f"{name} is not of type integer."
        return "" if 1 <= int(value) <= BATCH_LIMIT else f"{name} must be between 1 (inclusive) and 100 (inclusive)"
    if kind == "page":
        if not _is_int(value):
            return f"{name} is not of type integer."
        return "" if int(value) >= 1 else f"{name} must be greater than or equal to 1"
    if kind == "integer":
        return "" if _is_int(value) else f"{name} is not of type integer."
    if kind == "boolean":
        return "" if value.lower() in ("true", "false", "1", "0", "") else f"{name} is not of type boolean."
    if kind == "date-time":
        return "" if _DATE.match(value) else "Invalid date."
    if kind == "status-array":
        for position, item in enumerate(v for raw in values for v in raw.split(",")):
            if item not in options:
                return f"{name}[{position}] is not one of {', '.join(options)}."
        return ""
    if options and value not in options:
        return f"{name} is not one of {', '.join(options)}."
    return ""


def _is_int(value: str) -> bool:
    return bool(re.fullmatch(r"-?\d+", value.strip()))


def check_batch(data: Any, item_fields: Mapping[str, str]) -> Reply | None:
    """POST <resource>/batch: at most 100 objects over create, update and delete, each update an object of
    known fields of the right type (the item schema's types, as WordPress checks them)."""
    if not isinstance(data, Mapping):
        return invalid({"update": "update is not of type array."})
    total = sum(len(data.get(k) or ()) for k in ("create", "update", "delete") if isinstance(data.get(k), list))
    if total > BATCH_LIMIT:
        return error(
            413,
            "woocommerce_rest_request_entity_too_large",
            f"Unable to accept more than {BATCH_LIMIT} items for this request.",
        )
    extra = sorted(k for k in data if k not in ("create", "update", "delete"))
    if extra:
        return unknown(extra, "a batch")
    for position, item in enumerate(data.get("update") or ()):
        refusal = check_body(item, item_fields, f"update[{position}]")
        if refusal:
            return refusal
    return None


def check_body(data: Any, fields: Mapping[str, str], where: str = "the request") -> Reply | None:
    """A JSON body against a route's fields {name: "integer" | "boolean" | "string"}."""
    if not isinstance(data, Mapping):
        return invalid({where: f"{where} is not of type object."})
    extra = sorted(k for k in data if k not in fields)
    if extra:
        return unknown(extra, where)
    reasons = {}
    for name, value in data.items():
        kind = fields[name]
        ok = (
            (kind == "integer" and isinstance(value, int) and not isinstance(value, bool))
            or (kind == "boolean" and isinstance(value, bool))
            or (kind == "string" and isinstance(value, str))
        )
        if not ok:
            reasons[name] = f"{name} is not of type {kind}."
    return invalid(reasons) if reasons else None
