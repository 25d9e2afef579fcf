"""The fake shop's webhook subscriptions (a mixin of `fake_shop.FakeShop`), kept in memory in `subscriptions`.

As the Admin API documents them (2026-10): `webhookSubscriptions` lists the app's subscriptions, filtered by
`uri` / `topics` when given, paged by cursor; `webhookSubscriptionCreate(topic, webhookSubscription: {uri,
format, ...})` creates one; `webhookSubscriptionDelete(id)` deletes one. Refused, as userErrors (plain
UserError, no code, as the schema says):
- a topic already subscribed at the same address: "Address for this topic has already been taken" (Shopify's
  words, quoted in Shopify/shopify_app#263);
- an address that is not HTTPS (nor pubsub:// nor an EventBridge ARN, the other kinds `uri` takes): Shopify
  delivers HTTP webhooks over HTTPS only ("Address protocol http:// is not supported");
- no `uri` (nor the deprecated callbackUrl): "Address can't be blank";
- deleting an id the shop does not have: "Webhook subscription does not exist" (the fake's wording).
"""

from __future__ import annotations

import copy
from typing import Any

TAKEN = "Address for this topic has already been taken"


class WebhookOperations:
    """`op_<OperationName>(variables) -> data` for the webhook subscription documents."""

    subscriptions: list[dict[str, Any]]
    now: str

    def op_WebhookSubscriptions(self, v: dict[str, Any]) -> dict[str, Any]:
        found = [s for s in self.subscriptions if v.get("uri") in (None, s["uri"])]
        if v.get("topics"):
            found = [s for s in found if s["topic"] in v["topics"]]
        start = int(v.get("after") or 0)
        page = found[start : start + int(v["first"])]
        more = start + len(page) < len(found)
        info = {"hasNextPage": more, "endCursor": str(start + len(page)) if more else None}
        return {"webhookSubscriptions": {"nodes": copy.deepcopy(page), "pageInfo": info}}

    def op_WebhookSubscriptionCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        given = v["webhookSubscription"]
        uri = given.get("uri") or given.get("callbackUrl") or ""
        problem = _address_problem(uri)
        if problem is None and any(s["uri"] == uri and s["topic"] == v["topic"] for s in self.subscriptions):
            problem = TAKEN
        if problem is not None:
            error = {"field": ["webhookSubscription", "callbackUrl"], "message": problem}
            return {"webhookSubscriptionCreate": {"webhookSubscription": None, "userErrors": [error]}}
        number = 1 + max((int(s["id"].rsplit("/", 1)[1]) for s in self.subscriptions), default=1000)
        made = {
            "id": f"gid://shopify/WebhookSubscription/{number}",
            "topic": v["topic"],
            "uri": uri,
            "format": given.get("format") or "JSON",
            "createdAt": self.now,
            "updatedAt": self.now,
        }
        self.subscriptions.append(made)
        return {"webhookSubscriptionCreate": {"webhookSubscription": copy.deepcopy(made), "userErrors": []}}

    def op_WebhookSubscriptionDelete(self, v: dict[str, Any]) -> dict[str, Any]:
        kept = [s for s in self.subscriptions if s["id"] != v["id"]]
        if len(kept) == len(self.subscriptions):
            error = {"field": ["id"], "message": "Webhook subscription does not exist"}
            return {"webhookSubscriptionDelete": {"deletedWebhookSubscriptionId": None, "userErrors": [error]}}
        self.subscriptions[:] = kept
        return {"webhookSubscriptionDelete": {"deletedWebhookSubscriptionId": v["id"], "userErrors": []}}


def _address_problem(uri: str) -> str | None:
    if not uri:
        return "Address can't be blank"
    if uri.startswith(("https://", "pubsub://", "arn:aws:events:")):
        return None
    scheme = uri.split("//", 1)[0] + "//" if "//" in uri else uri
    return f"Address protocol {scheme} is not supported"
