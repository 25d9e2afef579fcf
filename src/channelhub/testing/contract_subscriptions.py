"""The contract kit's tests of `Capability.WEBHOOK_SUBSCRIPTIONS` (a mixin of `ConnectorContract`).

The kit registers the hub's webhooks at `webhook_url()` (and, to show a removal leaves other addresses alone, at
`other_webhook_url()`) on the test channel the connector reaches. Every check that matters reads the channel
through a fresh instance too, so subscriptions an instance merely remembers do not pass for the channel's:

- register twice (and again on a fresh instance) gives the same subscriptions, and the channel holds each topic
  once at that address;
- list_webhooks shows what register returned;
- remove_webhooks removes every subscription at that address, returns them, leaves the other address alone, and
  a second remove finds nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from channelhub.ports import Capability, Connector, WebhookSubscription
from channelhub.testing.contract_hooks import ContractHooks


def _keys(subscriptions: Iterable[WebhookSubscription]) -> list[tuple[str, str, str]]:
    return sorted((s.id, s.topic, s.address) for s in subscriptions)


def _at(subscriptions: Iterable[WebhookSubscription], url: str) -> list[WebhookSubscription]:
    return [s for s in subscriptions if s.address == url]


class SubscriptionContract(ContractHooks):
    """Contract tests of list/register/remove_webhooks; skipped unless the connector declares the capability."""

    def _require(self, capability: Capability) -> None:  # ConnectorContract's skips
        raise NotImplementedError

    def _fresh(self) -> list[WebhookSubscription]:
        again = self.make_connector()
        try:
            return list(again.list_webhooks())
        finally:
            again.close()

    def test_register_webhooks_twice_subscribes_once(self, connector: Connector) -> None:
        self._require(Capability.WEBHOOK_SUBSCRIPTIONS)
        url = self.webhook_url()
        assert _at(connector.list_webhooks(), url) == [], f"the test channel already holds subscriptions at {url}"
        first = connector.register_webhooks(url)
        assert first, "register_webhooks subscribed nothing"
        for s in first:
            assert isinstance(s, WebhookSubscription), f"register_webhooks returned {type(s).__name__}"
            assert s.id and s.topic, f"a subscription without id or topic: {s!r}"
            assert s.address == url, f"register_webhooks returned a subscription to {s.address}, not {url}"
        topics = Counter(s.topic for s in first)
        assert max(topics.values()) == 1, f"register_webhooks returned a topic twice: {dict(topics)}"
        again = connector.register_webhooks(url)
        assert _keys(again) == _keys(first), "register_webhooks repeated gave other subscriptions"
        restarted = self.make_connector()
        try:
            assert _keys(restarted.register_webhooks(url)) == _keys(first), "register on a fresh instance differs"
        finally:
            restarted.close()
        held = Counter((s.topic, s.address) for s in self._fresh())
        doubled = sorted(key for key, n in held.items() if n > 1)
        assert not doubled, f"the channel holds these subscriptions more than once: {doubled}"

    def test_list_webhooks_shows_the_registered_ones(self, connector: Connector) -> None:
        self._require(Capability.WEBHOOK_SUBSCRIPTIONS)
        url = self.webhook_url()
        registered = connector.register_webhooks(url)
        listed = connector.list_webhooks()
        assert all(isinstance(s, WebhookSubscription) for s in listed), f"list_webhooks returned {listed!r}"
        assert _keys(_at(listed, url)) == _keys(registered), "list_webhooks does not show what was registered"
        assert _keys(_at(self._fresh(), url)) == _keys(registered), "a fresh instance lists other subscriptions"

    def test_remove_webhooks_removes_those_at_the_url_only(self, connector: Connector) -> None:
        self._require(Capability.WEBHOOK_SUBSCRIPTIONS)
        url, other = self.webhook_url(), self.other_webhook_url()
        assert url != other, "webhook_url() and other_webhook_url() must differ"
        registered = connector.register_webhooks(url)
        kept = connector.register_webhooks(other)
        removed = connector.remove_webhooks(url)
        assert _keys(removed) == _keys(registered), "remove_webhooks did not return what it removed"
        left = self._fresh()
        assert _at(left, url) == [], f"subscriptions at {url} are left after remove_webhooks"
        assert _keys(_at(left, other)) == _keys(kept), f"remove_webhooks({url}) touched the ones at {other}"
        assert connector.remove_webhooks(url) == [], "a second remove_webhooks found subscriptions to remove"
