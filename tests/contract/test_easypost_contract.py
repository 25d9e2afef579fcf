"""The shared connector contract suite, run against the EasyPost connector (no network: it declares no write or
pull the kit exercises, and its webhooks are checked on a delivery signed here as EasyPost signs one).

The kit has no tests yet for create_trackers or pull_tracking; those are shown on EasyPost's own recordings and
the hand-written cassettes in tests/unit/easypost.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
from channelhub_connectors.easypost.connector import EasyPostConnector
from channelhub_connectors.easypost.webhooks import signature

from channelhub.ports import Connector
from channelhub.testing.contract import ConnectorContract

WEBHOOK_SECRET = "whsec_contract"


def _offline(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"the contract kit made a request it should not: {request.method} {request.url}")


class TestEasyPostContract(ConnectorContract):
    connector_class = EasyPostConnector

    def settings(self) -> dict[str, Any]:
        return {"api_key": "EZTK_contract", "webhook_secret": WEBHOOK_SECRET}

    def make_connector(self) -> Connector:
        transport = httpx.Client(transport=httpx.MockTransport(_offline))
        return EasyPostConnector(self.config(), self.context(transport=transport))

    def sample_webhook(self) -> tuple[Mapping[str, str], bytes]:
        event = {
            "id": "evt_contract_1",
            "object": "Event",
            "description": "tracker.updated",
            "mode": "test",
            "previous_attributes": {"status": "pre_transit"},
            "result": {
                "id": "trk_contract_1",
                "object": "Tracker",
                "tracking_code": "EZ2000000002",
                "carrier": "USPS",
                "status": "in_transit",
                "tracking_details": [
                    {
                        "object": "TrackingDetail",
                        "message": "Arrived at USPS facility",
                        "status": "in_transit",
                        "datetime": "2024-06-01T10:00:00Z",
                        "tracking_location": {"city": "HOUSTON", "state": "TX", "country": "US", "zip": None},
                    }
                ],
            },
        }
        body = json.dumps(event).encode()
        return {"X-Hmac-Signature": signature(WEBHOOK_SECRET, body), "Content-Type": "application/json"}, body
