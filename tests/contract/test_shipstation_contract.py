"""The shared connector contract suite, run against the ShipStation connector over the fake account.

The kit has no tests of FULFILL_ORDERS yet; the ones below follow its rules (a write changes the receiving side
once, a repeat on the same or a fresh instance changes nothing more; pulled records are RawRecords that map or
are refused with Skippable) and could move into it. ShipStation's webhooks are unsigned: the kit's tampered-body
test is replaced by the URL-secret equivalent (see the override)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from channelhub_connectors.shipstation.connector import ShipStationConnector

from channelhub.errors import Skippable
from channelhub.ports import CancellationRequest, Connector, ProviderShipment, PulledPage, PullRequest, RawRecord
from channelhub.testing.contract import CONTRACT_NOW, ConnectorContract
from doubles.shipstation import samples
from doubles.shipstation.fake_server import FakeShipStation

KEY, SECRET, URL_SECRET = "ss_contract_key", "ss_contract_secret", "ss-contract-url-secret"
LABELLED = datetime(2024, 6, 1, 11, 0, tzinfo=UTC)


class TestShipStationContract(ConnectorContract):
    connector_class = ShipStationConnector

    def _fake(self) -> FakeShipStation:
        fake: FakeShipStation | None = getattr(self, "_account", None)
        if fake is None:
            fake = FakeShipStation(KEY, SECRET, now=lambda: CONTRACT_NOW)
            self._account = fake
            seeding = self.make_connector()
            seeding.push_fulfillment_order(samples.request(7001, channel=self.channel))
            self._shipped = fake.ship(
                f"{self.channel}:7001", tracking="9400CONTRACT", ship_date="2024-06-01", create_date=LABELLED
            )
            seeding.close()
        return fake

    def settings(self) -> dict[str, Any]:
        return {"api_key": KEY, "api_secret": SECRET, "webhook_secret": URL_SECRET}

    def make_connector(self) -> Connector:
        fake = self._account if hasattr(self, "_account") else self._fake()
        http = httpx.Client(transport=fake.mock_transport())
        return ShipStationConnector(self.config(), self.context(transport=http))

    def count_effects(self, connector: Connector) -> Any:
        """What the account holds: its orders by key with their status and lines."""
        fake = self._fake()
        return sorted(
            (key, o["orderStatus"], tuple((i["sku"], i["quantity"]) for i in o.get("items") or ()))
            for key, o in fake.orders.items()
        )

    def sample_webhook(self) -> tuple[Mapping[str, str], bytes]:
        fake = self._fake()
        body = fake.webhook("SHIP_NOTIFY", fake.batch_of(self._shipped["shipmentId"]))
        return {"X-Channelhub-Url-Secret": URL_SECRET, "Content-Type": "application/json"}, body

    # --- replaced: the body is unsigned ---------------------------------------------------------------------

    def test_verify_webhook_rejects_tampered_body(self, connector: Connector) -> None:
        """ShipStation signs nothing: the delivery is the hub's when the URL carries the secret. A wrong or
        missing secret is refused; a body altered in transit is only ever fetched from the configured host."""
        headers, body = self.sample_webhook()
        assert connector.verify_webhook(headers, body) is True
        assert connector.verify_webhook({**headers, "X-Channelhub-Url-Secret": URL_SECRET + "x"}, body) is False
        assert connector.verify_webhook({"Content-Type": "application/json"}, body) is False
        forged = body.replace(b"ssapi.shipstation.com", b"evil.example")
        try:
            connector.parse_webhook(headers, forged)
        except Skippable:
            pass
        else:
            raise AssertionError("a resource_url on another host was fetched")

    # --- FULFILL_ORDERS -------------------------------------------------------------------------------------

    def test_push_fulfillment_order_repeated_makes_one_order(self, connector: Connector) -> None:
        request = samples.request(7101, channel=self.channel)
        self._assert_write_takes_effect_once(
            connector, lambda c: c.push_fulfillment_order(request), "push_fulfillment_order", "made a second order"
        )

    def test_cancel_fulfillment_order_repeated_cancels_once(self, connector: Connector) -> None:
        connector.push_fulfillment_order(samples.request(7201, channel=self.channel))
        request = CancellationRequest(f"{self.channel}:7201", "#7201", "contract test", "contract-cancel-7201")
        self._assert_write_takes_effect_once(
            connector, lambda c: c.cancel_fulfillment_order(request), "cancel_fulfillment_order", "cancelled twice"
        )

    def test_pull_shipments_yields_records_that_map(self, connector: Connector) -> None:
        self._fake()
        request = PullRequest(cursor=None, overlap=timedelta(minutes=5), now=CONTRACT_NOW)
        pages = list(connector.pull_shipments(request))
        assert pages and all(isinstance(p, PulledPage) for p in pages)
        records = [r for p in pages for r in p.records]
        assert records and all(isinstance(r, RawRecord) and r.stream == "shipments" for r in records)
        for record in records:
            mapped = connector.map_shipment(record)
            assert isinstance(mapped, ProviderShipment) and mapped.order_key == f"{self.channel}:7001"
            assert mapped.shipment.shipped_at.utcoffset() == timedelta(0)
        assert pages[-1].cursor is not None and all(p.cursor is None for p in pages[:-1])

    def test_map_shipment_refuses_what_does_not_map_with_skippable(self, connector: Connector) -> None:
        for body in ("{", '{"shipmentId": 1, "orderKey": "not-the-hubs"}', "[]"):
            try:
                connector.map_shipment(RawRecord("shipments", "contract bad", body))
            except Skippable:
                continue
            raise AssertionError(f"map_shipment accepted {body!r}")
