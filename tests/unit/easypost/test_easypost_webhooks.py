"""EasyPost webhook signatures (X-Hmac-Signature: hmac-sha256-hex=<hex>, key = the secret NFKD-normalised) and
the records a tracker Event gives."""

from __future__ import annotations

import hashlib
import hmac
import json
import unicodedata

import pytest
from ep_helpers import WEBHOOK_SECRET, connector

from channelhub.errors import MappingError

TRACKER = {
    "id": "trk_web_1",
    "object": "Tracker",
    "tracking_code": "9400100000000000000001",
    "carrier": "USPS",
    "status": "out_for_delivery",
    "updated_at": "2024-06-02T07:00:00Z",
    "tracking_details": [
        {
            "status": "out_for_delivery",
            "message": "Out for delivery",
            "datetime": "2024-06-02T06:58:00Z",
            "tracking_location": {"city": "CHARLESTON", "state": "SC", "country": "US", "zip": "29401"},
        },
    ],
}


def event(description: str = "tracker.updated", event_id: str = "evt_1", result: object = TRACKER) -> bytes:
    body = {
        "id": event_id,
        "object": "Event",
        "description": description,
        "mode": "test",
        "previous_attributes": {"status": "in_transit"},
        "result": result,
    }
    return json.dumps(body).encode()


def sign(secret: str, body: bytes) -> dict[str, str]:
    """Signed as EasyPost signs, written out here rather than through the module under test."""
    key = unicodedata.normalize("NFKD", secret).encode()
    return {"X-Hmac-Signature": "hmac-sha256-hex=" + hmac.new(key, body, hashlib.sha256).hexdigest()}


def test_a_good_signature_verifies() -> None:
    body = event()
    assert connector().verify_webhook(sign(WEBHOOK_SECRET, body), body) is True


def test_the_header_name_is_case_insensitive() -> None:
    body = event()
    headers = {"x-hmac-signature": sign(WEBHOOK_SECRET, body)["X-Hmac-Signature"]}
    assert connector().verify_webhook(headers, body) is True


@pytest.mark.parametrize(
    "headers",
    [
        {},  # missing
        {"X-Hmac-Signature": ""},
        {"X-Hmac-Signature": "hmac-sha256-hex=" + "0" * 64},  # bad
        {"X-Hmac-Signature": "sha256=" + "0" * 64},  # another scheme
    ],
    ids=["missing", "empty", "bad", "other-scheme"],
)
def test_a_missing_or_bad_signature_is_refused(headers: dict[str, str]) -> None:
    assert connector().verify_webhook(headers, event()) is False


def test_the_bare_hex_without_the_scheme_is_refused() -> None:
    body = event()
    bare = sign(WEBHOOK_SECRET, body)["X-Hmac-Signature"].removeprefix("hmac-sha256-hex=")
    assert connector().verify_webhook({"X-Hmac-Signature": bare}, body) is False


def test_a_wrong_secret_is_refused() -> None:
    body = event()
    assert connector().verify_webhook(sign("another secret", body), body) is False


def test_a_tampered_body_is_refused() -> None:
    body = event()
    headers = sign(WEBHOOK_SECRET, body)
    assert connector().verify_webhook(headers, body.replace(b"out_for_delivery", b"delivered")) is False
    assert connector().verify_webhook(headers, body + b"\n") is False


def test_no_secret_configured_refuses_everything() -> None:
    body = event()
    assert connector(webhook_secret=None).verify_webhook(sign(WEBHOOK_SECRET, body), body) is False


def test_a_secret_with_a_composed_character_equals_its_decomposed_form() -> None:
    composed, decomposed = "s\u00e9cret", "se\u0301cret"  # "é" as one code point, and as e + combining acute
    assert composed != decomposed and unicodedata.normalize("NFKD", composed) == decomposed
    body = event()
    # EasyPost signs with the NFKD form: a delivery verifies whichever form the merchant typed in the config.
    signed = sign(decomposed, body)
    assert connector(webhook_secret=composed).verify_webhook(signed, body) is True
    assert connector(webhook_secret=decomposed).verify_webhook(signed, body) is True
    # Without the normalisation the composed key would sign differently: the test would catch its loss.
    raw = "hmac-sha256-hex=" + hmac.new(composed.encode(), body, hashlib.sha256).hexdigest()
    assert raw != signed["X-Hmac-Signature"]


def test_read_gives_topic_and_event_id_and_keeps_no_header() -> None:
    body = event(event_id="evt_42")
    delivery = connector().read_webhook(sign(WEBHOOK_SECRET, body), body)
    assert (delivery.topic, delivery.delivery_id, delivery.accepted) == ("tracker.updated", "evt_42", True)
    assert dict(delivery.headers) == {}
    assert connector().read_webhook({}, event("tracker.created")).accepted is True


@pytest.mark.parametrize("topic", ["batch.updated", "shipment.invoice.created", "refund.successful", ""])
def test_other_events_are_answered_and_not_taken(topic: str) -> None:
    ep = connector()
    body = event(topic, result={"id": "x", "object": "Batch"})
    assert ep.read_webhook({}, body).accepted is False
    assert ep.parse_webhook({}, body) == []


def test_parse_gives_the_tracker_as_a_record_of_the_polling_stream() -> None:
    ep = connector()
    (record,) = ep.parse_webhook({}, event(event_id="evt_7"))
    assert (record.stream, record.external_id, record.delivery_id) == ("trackers", "trk_web_1", "evt_7")
    assert json.loads(record.body) == TRACKER
    update = ep.map_tracking(record)
    assert update.status == "out_for_delivery" and update.events[0].location == "CHARLESTON, SC, US"


def test_a_signed_body_that_is_not_an_event_is_kept_for_quarantine() -> None:
    ep = connector()
    body = b"not json at all"
    delivery = ep.read_webhook({}, body)
    assert delivery.accepted and delivery.delivery_id and delivery.delivery_id.startswith("body-sha256:")
    (record,) = ep.parse_webhook({}, body)
    assert record.problem and record.delivery_id == delivery.delivery_id
    with pytest.raises(MappingError):
        ep.map_tracking(record)


def test_a_tracker_event_whose_result_is_not_a_tracker_is_quarantined() -> None:
    (record,) = connector().parse_webhook({}, event(result=["not", "a", "tracker"]))
    assert record.problem == "the tracker event's result is not a Tracker" and record.delivery_id == "evt_1"
