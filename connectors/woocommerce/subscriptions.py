"""Webhooks at the store: list, register (idempotent), remove, over REST v3 `webhooks`.

- `GET webhooks` (paged, per_page at most 100, `X-WP-TotalPages`) lists every webhook of the store; the
  connector matches `delivery_url` itself, exactly.
- `POST webhooks {name, topic, delivery_url, secret, status: "active"}` for each topic of TOPICS not yet at that
  address. The secret is the channel's `webhook_secret`, the one `verify_webhook` checks: it goes only in that
  body, which nothing logs, and no answer carries it back (the docs mark it write-only). Without one the hub
  could not verify a delivery, so register refuses (Fatal, naming the setting).
- A webhook already at that address for a topic but not active (WooCommerce disables one after 5 failed
  deliveries, and the docs say it "must be edited via the REST API to re-enable") is set active again with
  `PUT webhooks/<id> {status: "active", secret}`, not created twice.
- `DELETE webhooks/<id>?force=true`: webhooks do not support the trash, so without `force` the store refuses.

TOPICS are the order topics webhooks.py takes for new and changed orders; order.restored (an order back from the
trash) is taken when it comes but not subscribed to: polling finds such an order.
"""

from __future__ import annotations

from typing import Any

from channelhub_connectors.woocommerce.client import WooClient

from channelhub.errors import Fatal
from channelhub.ports import WebhookSubscription

TOPICS = ("order.created", "order.updated")
PER_PAGE = 100


def _subscription(hook: dict[str, Any]) -> WebhookSubscription:
    return WebhookSubscription(
        id=str(hook["id"]), topic=str(hook.get("topic") or ""), address=str(hook.get("delivery_url") or ""),
        status=hook.get("status"),
    )  # fmt: skip


def list_all(client: WooClient) -> list[WebhookSubscription]:
    found: list[WebhookSubscription] = []
    page = 1
    while True:
        answer = client.call("GET", "webhooks", params={"per_page": PER_PAGE, "page": page})
        found.extend(_subscription(hook) for hook in answer.data or [])
        if page >= int(answer.headers.get("X-WP-TotalPages") or 1):
            return found
        page += 1


def register(client: WooClient, url: str, secret: str | None, where: str) -> list[WebhookSubscription]:
    """Subscribe `url` to each topic of TOPICS not yet there (re-activating one that is there but not active)."""
    if not secret:
        raise Fatal("settings.webhook_secret is not set: the hub could not verify the deliveries", where=where)
    held = {s.topic: s for s in list_all(client) if s.address == url and s.topic in TOPICS}
    for topic in TOPICS:
        found = held.get(topic)
        if found is not None and found.status == "active":
            continue
        if found is not None:
            answer = client.call("PUT", f"webhooks/{found.id}", data={"status": "active", "secret": secret})
        else:
            body = {"name": f"channelhub {topic}", "topic": topic, "delivery_url": url, "secret": secret,
                    "status": "active"}  # fmt: skip
            answer = client.call("POST", "webhooks", data=body)
        held[topic] = _subscription(answer.data)
    return [held[topic] for topic in TOPICS]


def remove(client: WooClient, url: str) -> list[WebhookSubscription]:
    """Delete (for good: `force=true`) every webhook that delivers to `url`; the ones removed."""
    removed = []
    for subscription in (s for s in list_all(client) if s.address == url):
        client.call("DELETE", f"webhooks/{subscription.id}", params={"force": "true"})
        removed.append(subscription)
    return removed
