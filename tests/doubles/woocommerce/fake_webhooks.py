"""The fake store's webhooks (a mixin of `fake_store.FakeStore`): `GET/POST webhooks`, `GET/PUT/DELETE
webhooks/<id>`, kept in memory in `webhooks` (id -> the stored webhook, its secret included).

Sources: the REST v3 docs ("Webhooks": properties, "Create a webhook", "List all webhooks" with its parameters;
`secret` is write-only, so no answer carries it; status is active, paused or disabled, default active) and
WooCommerce's `WC_REST_Webhooks_V1_Controller` (v3 inherits it):
- `topic` and `delivery_url` are registered as required: a POST without one is WordPress's 400
  `rest_missing_callback_param` "Missing parameter(s): ...";
- `create_item`: a topic `wc_is_webhook_valid_topic` refuses is 400 `woocommerce_rest_shop_webhook_invalid_topic`
  "Webhook topic is required and must be valid."; a delivery URL that is not http(s) is 400
  `woocommerce_rest_shop_webhook_invalid_delivery_url`;
- `delete_item` without `force=true`: 501 `woocommerce_rest_trash_not_supported` "Webhooks do not support
  trashing." (woocommerce-rest-api-js-lib#116); an unknown id: 404 `woocommerce_rest_shop_webhook_invalid_id`.
Valid topics (`wc_is_webhook_valid_topic`): coupon, customer, order, product x created, updated, deleted,
restored, and `action.<hook>`.
"""

from __future__ import annotations

import copy
from typing import Any

from doubles.woocommerce.rules import Reply, check_body, error

RESOURCES = ("coupon", "customer", "order", "product")
EVENTS = ("created", "updated", "deleted", "restored")
WEBHOOK_FIELDS = dict.fromkeys(("name", "status", "topic", "delivery_url", "secret"), "string")
STATUSES = ("active", "paused", "disabled")


def valid_topic(topic: str) -> bool:
    resource, _, event = topic.lower().partition(".")
    return (resource in RESOURCES and event in EVENTS) or (resource == "action" and bool(event))


class WebhookRoutes:
    """The webhooks routes. State lives on the FakeStore."""

    webhooks: dict[int, dict[str, Any]]

    def _webhooks_route(self, method: str, rest: list[str], one: dict[str, str], data: Any) -> Reply:
        if not rest and method == "GET":
            rows = [_public(w) for _, w in sorted(self.webhooks.items(), reverse=True)]  # newest first (desc)
            if one.get("status", "all") != "all":
                rows = [w for w in rows if w["status"] == one["status"]]
            return self._page(rows, one, int(one.get("per_page", "10") or 10))  # type: ignore[attr-defined,no-any-return]
        if not rest and method == "POST":
            return self._create_webhook(data)
        hook = self.webhooks.get(int(rest[0])) if len(rest) == 1 and rest[0].isdigit() else None
        if len(rest) != 1 or method not in ("GET", "PUT", "DELETE"):
            return error(404, "rest_no_route", "No route was found matching the URL and request method.")
        if hook is None:
            return error(404, "woocommerce_rest_shop_webhook_invalid_id", "Invalid ID.")
        if method == "GET":
            return 200, {}, _public(hook)
        if method == "PUT":
            refusal = check_body(data, WEBHOOK_FIELDS) or _status_refusal(data)
            if refusal:
                return refusal
            hook.update(data)
            return 200, {}, _public(hook)
        if one.get("force", "").lower() not in ("true", "1"):
            return error(501, "woocommerce_rest_trash_not_supported", "Webhooks do not support trashing.")
        del self.webhooks[hook["id"]]
        return 200, {}, _public(hook)

    def _create_webhook(self, data: Any) -> Reply:
        refusal = check_body(data, WEBHOOK_FIELDS)
        if refusal:
            return refusal
        missing = [name for name in ("topic", "delivery_url") if name not in data]
        if missing:
            params = ", ".join(missing)
            return error(400, "rest_missing_callback_param", f"Missing parameter(s): {params}", params=missing)
        if not valid_topic(data["topic"]):
            return error(
                400, "woocommerce_rest_shop_webhook_invalid_topic", "Webhook topic is required and must be valid."
            )
        if not str(data["delivery_url"]).startswith(("http://", "https://")):
            return error(
                400,
                "woocommerce_rest_shop_webhook_invalid_delivery_url",
                "Webhook delivery URL must be a valid URL starting with http:// or https://.",
            )
        refusal = _status_refusal(data)
        if refusal:
            return refusal
        number = 1 + max(self.webhooks, default=140)
        resource, _, event = data["topic"].partition(".")
        self.webhooks[number] = {
            "id": number,
            "name": data.get("name") or "Webhook created by the fake store",
            "status": data.get("status") or "active",
            "topic": data["topic"],
            "resource": resource,
            "event": event,
            "hooks": [],
            "delivery_url": data["delivery_url"],
            "secret": data.get("secret") or "md5-of-the-user",
            "date_created_gmt": "2026-03-05T12:00:00",
        }
        return 201, {}, _public(self.webhooks[number])


def _status_refusal(data: dict[str, Any]) -> Reply | None:
    if "status" in data and data["status"] not in STATUSES:
        return error(400, "rest_invalid_param", "Invalid parameter(s): status", params={"status": "not one of"})
    return None


def _public(hook: dict[str, Any]) -> dict[str, Any]:
    """What an answer shows of a webhook: everything but the write-only secret."""
    return {k: copy.deepcopy(v) for k, v in hook.items() if k != "secret"}
