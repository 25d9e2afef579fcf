"""A signed EasyPost Event through the hub's own webhook intake (`services.webhooks.receive`, what answers
`POST /webhooks/<channel>`): stored once and answered 200, a redelivery recognised, another event ignored, a bad
signature refused with nothing stored. Applying tracker records to shipments is the engine's part (issue 10)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from channelhub_connectors.easypost.webhooks import signature
from sqlalchemy import func, select

from channelhub.runtime import Hub
from channelhub.services.webhooks import receive
from channelhub.store.tables import DELIVERIES

SECRET = "s\u00e9cret"  # composed; the config below writes it decomposed: NFKD makes them one secret

CONFIG = """
database = "{url}"

[[channels]]
name = "tracking"
kind = "easypost"
[channels.settings]
api_key = "EZTK_intake_test"
webhook_secret = "se\u0301cret"
"""


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    (tmp_path / "channelhub.toml").write_text(CONFIG.format(url=db_url), encoding="utf-8")
    hub = Hub.open(tmp_path / "channelhub.toml", connect=True)
    yield hub
    hub.close()


def event(event_id: str, description: str = "tracker.updated") -> bytes:
    tracker = {"id": "trk_1", "object": "Tracker", "tracking_code": "EZ1000000001", "status": "in_transit"}
    return json.dumps({"id": event_id, "object": "Event", "description": description, "result": tracker}).encode()


def stored(hub: Hub) -> list[tuple[str, str]]:
    with hub.db.transaction() as session:
        rows = session.execute(select(DELIVERIES.c.delivery_id, DELIVERIES.c.topic).order_by(DELIVERIES.c.id))
        return [(r.delivery_id, r.topic) for r in rows]


def test_a_signed_event_is_stored_once_and_a_redelivery_recognised(hub: Hub) -> None:
    body = event("evt_1")
    headers = {"X-Hmac-Signature": signature(SECRET, body)}
    first = receive(hub, "tracking", headers, body)
    again = receive(hub, "tracking", headers, body)
    assert (first.status, first.outcome, first.delivery_id) == (200, "stored", "evt_1")
    assert (again.status, again.outcome) == (200, "duplicate")
    assert stored(hub) == [("evt_1", "tracker.updated")]


def test_a_bad_signature_is_refused_and_nothing_stored(hub: Hub) -> None:
    body = event("evt_2")
    forged = {"X-Hmac-Signature": signature("not the secret", body)}
    assert receive(hub, "tracking", forged, body).status == 401
    assert receive(hub, "tracking", {}, body).status == 401
    with hub.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(DELIVERIES)) == 0


def test_an_event_the_hub_does_not_take_is_answered_and_not_stored(hub: Hub) -> None:
    body = event("evt_3", "batch.updated")
    receipt = receive(hub, "tracking", {"X-Hmac-Signature": signature(SECRET, body)}, body)
    assert (receipt.status, receipt.outcome) == (200, "ignored")
    assert stored(hub) == []
