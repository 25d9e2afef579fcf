"""Webhook subscriptions at the shop: list, register (idempotent), remove (Admin GraphQL 2026-10).

- `webhookSubscriptions(first:, after:)` lists the subscriptions this app made through the API on this shop
  (Shopify's note: not the app-scoped ones of a shopify.app.toml). The connector pages through all of them and
  matches the address itself, exactly, rather than trusting the `uri:` filter to compare as it does.
- `webhookSubscriptionCreate(topic:, webhookSubscription: {uri, format: JSON})`: `uri` replaces the deprecated
  `callbackUrl` in 2026-10. It has no idempotency key, so `register` lists first and creates only the topics not
  yet subscribed at that address; a create refused because the address is taken for that topic (a race with
  another register) is done when a second look finds it there.
- `webhookSubscriptionDelete(id:)`.

The topics are those `webhooks.py` takes (ORDERS_CREATE, ORDERS_UPDATED, ORDERS_PAID, ORDERS_CANCELLED,
REFUNDS_CREATE, the enum names of WebhookSubscriptionTopic). orders/fulfilled is accepted when it comes but not
subscribed to: orders/updated carries the same change. userErrors of these mutations carry no code (plain
`UserError`, see user_errors.TABLES): every one is Skippable with Shopify's message.
"""

from __future__ import annotations

from typing import Any

from channelhub_connectors.shopify import queries
from channelhub_connectors.shopify.client import ShopifyClient

from channelhub.errors import Skippable
from channelhub.ports import WebhookSubscription

TOPICS = ("ORDERS_CREATE", "ORDERS_UPDATED", "ORDERS_PAID", "ORDERS_CANCELLED", "REFUNDS_CREATE")
PAGE = 100


def header_topic(topic: str) -> str:
    """The X-Shopify-Topic a delivery of enum `topic` carries: ORDERS_CREATE -> orders/create."""
    return topic.lower().replace("_", "/", 1)


def _subscription(node: dict[str, Any]) -> WebhookSubscription:
    return WebhookSubscription(id=str(node["id"]), topic=str(node["topic"]), address=str(node["uri"]), status=None)


def list_all(client: ShopifyClient) -> list[WebhookSubscription]:
    found: list[WebhookSubscription] = []
    after: str | None = None
    while True:
        data = client.execute(queries.WEBHOOK_SUBSCRIPTIONS, {"first": PAGE, "after": after})
        connection = data.get("webhookSubscriptions") or {}
        found.extend(_subscription(node) for node in connection.get("nodes") or [])
        info = connection.get("pageInfo") or {}
        if not info.get("hasNextPage") or not info.get("endCursor"):
            return found
        after = info["endCursor"]


def register(client: ShopifyClient, url: str, where: str) -> list[WebhookSubscription]:
    """Subscribe `url` to every topic of TOPICS not yet subscribed there; the subscriptions at `url` for TOPICS."""
    held = {s.topic: s for s in list_all(client) if s.address == url and s.topic in TOPICS}
    for topic in TOPICS:
        if topic in held:
            continue
        variables = {"topic": topic, "webhookSubscription": {"uri": url, "format": "JSON"}}
        answer = client.execute(queries.WEBHOOK_SUBSCRIPTION_CREATE, variables).get("webhookSubscriptionCreate") or {}
        errors = answer.get("userErrors") or []
        node = answer.get("webhookSubscription")
        if not errors and node:
            held[topic] = _subscription(node)
            continue
        again = next((s for s in list_all(client) if s.address == url and s.topic == topic), None)
        if again is None:
            raise Skippable(f"Shopify refused the {topic} subscription: {_messages(errors)}", where=where)
        held[topic] = again
    return [held[topic] for topic in TOPICS]


def remove(client: ShopifyClient, url: str, where: str) -> list[WebhookSubscription]:
    """Delete every subscription at `url`; the ones removed (one already gone counts as removed)."""
    removed = []
    for subscription in (s for s in list_all(client) if s.address == url):
        answer = client.execute(queries.WEBHOOK_SUBSCRIPTION_DELETE, {"id": subscription.id})
        errors = (answer.get("webhookSubscriptionDelete") or {}).get("userErrors") or []
        if errors and any(s.id == subscription.id for s in list_all(client)):
            raise Skippable(f"Shopify refused to delete {subscription.id}: {_messages(errors)}", where=where)
        removed.append(subscription)
    return removed


def _messages(errors: list[dict[str, Any]]) -> str:
    return "; ".join(str(e.get("message") or "?") for e in errors) or "no subscription in the answer"
