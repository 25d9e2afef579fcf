"""Webhook subscriptions at the fake shop: register is idempotent (one per topic, listing first since
webhookSubscriptionCreate takes no key), list pages, remove deletes only that address, refusals are Skippable."""

from __future__ import annotations

import pytest
from channelhub_connectors.shopify import subscriptions, webhooks

from channelhub.errors import Skippable
from doubles.shopify.fake_shop import FakeShop

URL = "https://hub.example.com/webhooks/shopify"


def test_the_topics_subscribed_are_enum_values_the_webhooks_module_takes() -> None:
    enum = FakeShop().schema.schema.type_map["WebhookSubscriptionTopic"]
    for topic in subscriptions.TOPICS:
        assert topic in enum.values  # type: ignore[attr-defined]
        assert webhooks.read({"X-Shopify-Topic": subscriptions.header_topic(topic)}).accepted, topic


def test_register_twice_subscribes_each_topic_once_in_json(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    first = connector.register_webhooks(URL)
    assert [s.topic for s in first] == list(subscriptions.TOPICS)
    assert {s.address for s in first} == {URL} and {s.status for s in first} == {None}
    creates = shop.calls.count("WebhookSubscriptionCreate")
    assert connector.register_webhooks(URL) == first
    assert shop.calls.count("WebhookSubscriptionCreate") == creates  # nothing sent the second time
    assert len(shop.subscriptions) == len(subscriptions.TOPICS)
    assert {s["format"] for s in shop.subscriptions} == {"JSON"}
    assert shop.refused == []  # every document passed the 2026-10 schema


def test_register_adds_only_the_missing_topics(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    shop.subscriptions.append({"id": "gid://shopify/WebhookSubscription/7", "topic": "ORDERS_CREATE", "uri": URL,
                               "format": "JSON", "createdAt": shop.now, "updatedAt": shop.now})  # fmt: skip
    found = connector.register_webhooks(URL)
    assert found[0].id == "gid://shopify/WebhookSubscription/7"
    assert shop.calls.count("WebhookSubscriptionCreate") == len(subscriptions.TOPICS) - 1


def test_list_pages_through_every_subscription(fake_connector, monkeypatch) -> None:
    monkeypatch.setattr(subscriptions, "PAGE", 2)
    connector, shop, _ = fake_connector()
    connector.register_webhooks(URL)
    listed = connector.list_webhooks()
    assert len(listed) == len(subscriptions.TOPICS)
    assert shop.calls.count("WebhookSubscriptions") >= 3 + 1  # register's look, then three pages


def test_remove_deletes_those_at_the_address_only(fake_connector) -> None:
    connector, _, _ = fake_connector()
    mine = connector.register_webhooks(URL)
    other = connector.register_webhooks("https://other.example.com/hooks")
    assert connector.remove_webhooks(URL) == mine
    assert {s.id for s in connector.list_webhooks()} == {s.id for s in other}
    assert connector.remove_webhooks(URL) == []


def test_an_address_shopify_refuses_is_skippable_with_its_message(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    with pytest.raises(Skippable, match="Address protocol http:// is not supported"):
        connector.register_webhooks("http://hub.example.com/webhooks/shopify")
    assert shop.subscriptions == []


def test_a_create_that_lost_a_race_is_done_when_the_subscription_is_there(fake_connector, monkeypatch) -> None:
    connector, shop, _ = fake_connector()
    real = subscriptions.list_all
    looks = []

    def first_look_misses(client):
        looks.append(1)
        return [] if len(looks) == 1 else real(client)

    shop.subscriptions.append({"id": "gid://shopify/WebhookSubscription/9", "topic": "ORDERS_CREATE", "uri": URL,
                               "format": "JSON", "createdAt": shop.now, "updatedAt": shop.now})  # fmt: skip
    monkeypatch.setattr(subscriptions, "list_all", first_look_misses)
    found = connector.register_webhooks(URL)  # ORDERS_CREATE is refused as taken, then found
    assert found[0].id == "gid://shopify/WebhookSubscription/9"
    assert sum(1 for s in shop.subscriptions if s["topic"] == "ORDERS_CREATE") == 1
