"""The webhook intake behind `POST /webhooks/<channel>`: the signature first (nothing stored on a bad one), the
raw body stored once before the answer, then applied through the polling path; duplicates, out-of-order
deliveries, a payload that does not map, and a delivery stored by a daemon that died before applying it."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from channelhub.model.orders import FinancialStatus
from channelhub.runtime import Hub
from channelhub.services.webhooks import apply_received, receive
from channelhub.stock import ledger
from channelhub.store.tables import DELIVERIES, InboxRow, OrderRow
from channelhub.testing.fakes import BASE_TIME, make_order

SECRET = "whsec-test-1"

# A drop-in connector whose deliveries are canonical orders as JSON, signed as Shopify and WooCommerce sign
# theirs (base64 HMAC-SHA256 of the raw body): the intake, not a vendor, is under test here.
PLUGIN = """
import base64, hashlib, hmac, json
from pydantic import BaseModel
from channelhub.errors import Skippable
from channelhub.model.orders import Order
from channelhub.ports import Capability, Connector, RawRecord, WebhookDelivery


class HookSettings(BaseModel):
    secret: str = ""


class HookConnector(Connector):
    kind = "hooked"
    capabilities = frozenset({Capability.WEBHOOKS})
    config_model = HookSettings

    def verify_webhook(self, headers, raw_body):
        given = headers.get("X-Sig", "")
        want = base64.b64encode(hmac.new(self.config.secret.encode(), raw_body, hashlib.sha256).digest()).decode()
        return bool(self.config.secret) and hmac.compare_digest(want.encode(), given.encode())

    def read_webhook(self, headers, raw_body):
        topic = headers.get("X-Topic", "")
        return WebhookDelivery(topic, headers.get("X-Delivery"), topic.startswith("order"),
                               {"X-Topic": topic, "X-Delivery": headers.get("X-Delivery", "")})

    def parse_webhook(self, headers, raw_body):
        if headers.get("X-Topic") == "order/broken":
            raise Skippable("this delivery cannot be read")
        return [RawRecord("orders", f"webhook {headers['X-Delivery']}", raw_body.decode(),
                          delivery_id=headers["X-Delivery"])]

    def map_order(self, record):
        return Order.model_validate_json(record.body)
"""

CONFIG = """
database = "{url}"

[[locations]]
code = "main"

[[channels]]
name = "shop"
kind = "hooked"
[channels.settings]
secret = "{secret}"
"""


@pytest.fixture
def hub(tmp_path: Path, db_url: str):
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "hooked.py").write_text(PLUGIN)
    (tmp_path / "channelhub.toml").write_text(CONFIG.format(url=db_url, secret=SECRET))
    hub = Hub.open(tmp_path / "channelhub.toml", connect=True)
    with hub.db.transaction() as session:
        ledger.ensure_location(session, "main")
        ledger.ensure_sku(session, "A")
        ledger.set_on_hand(session, "A", "main", 10, "test stock")
    yield hub
    hub.close()


def signed(body: bytes, delivery: str, topic: str = "order/updated", secret: str = SECRET) -> dict[str, str]:
    import base64

    sig = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return {"X-Sig": sig, "X-Delivery": delivery, "X-Topic": topic}


def order_body(external_id: str = "1", **changes: object) -> bytes:
    return make_order(external_id, [("A", 2)]).model_copy(update=changes).model_dump_json().encode()


def counts(hub: Hub) -> tuple[int, int, int]:
    with hub.db.transaction() as session:
        return (
            int(session.scalar(select(func.count()).select_from(DELIVERIES)) or 0),
            int(session.scalar(select(func.count()).select_from(InboxRow)) or 0),
            int(session.scalar(select(func.count()).select_from(OrderRow)) or 0),
        )


def test_a_signed_delivery_is_stored_answered_then_applied(hub: Hub) -> None:
    body = order_body()
    receipt = receive(hub, "shop", signed(body, "d-1"), body)
    assert (receipt.status, receipt.outcome, receipt.delivery_id) == (200, "stored", "d-1")
    assert counts(hub) == (1, 0, 0)  # answered before mapping: only the raw delivery is stored
    reports = apply_received(hub)
    assert reports["shop"].applied == 1
    assert counts(hub) == (1, 1, 1)
    with hub.db.transaction() as session:
        stored = session.execute(select(DELIVERIES.c.status, DELIVERIES.c.headers)).one()
        state = session.scalar(select(OrderRow.state))
    assert stored.status == "applied" and "X-Sig" not in stored.headers  # the signature is not kept
    assert state == "confirmed"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Delivery": "d-2", "X-Topic": "order/updated"},  # missing signature
        {"X-Sig": "AAAA", "X-Delivery": "d-2", "X-Topic": "order/updated"},  # a bad one
        "wrong secret",
        "tampered body",
    ],
)
def test_a_bad_signature_is_refused_and_nothing_is_stored(hub: Hub, headers: object) -> None:
    body = order_body()
    if headers == "wrong secret":
        headers = signed(body, "d-2", secret="someone-else")
    elif headers == "tampered body":
        headers = signed(body, "d-2")
        body = body.replace(b'"quantity":2', b'"quantity":9')
    receipt = receive(hub, "shop", headers, body)  # type: ignore[arg-type]
    assert (receipt.status, receipt.outcome) == (401, "bad_signature")
    assert counts(hub) == (0, 0, 0)


def test_unknown_channels_and_ignored_topics(hub: Hub) -> None:
    body = order_body()
    assert receive(hub, "nope", signed(body, "d-3"), body).status == 404
    ping = receive(hub, "shop", signed(b"ping", "d-4", topic="ping"), b"ping")
    assert (ping.status, ping.outcome) == (200, "ignored")
    assert counts(hub) == (0, 0, 0)


def test_a_redelivery_is_stored_once_and_applied_once(hub: Hub) -> None:
    body = order_body()
    assert receive(hub, "shop", signed(body, "d-5"), body).outcome == "stored"
    assert receive(hub, "shop", signed(body, "d-5"), body).outcome == "duplicate"  # same delivery id
    assert receive(hub, "shop", signed(body, "d-6"), body).outcome == "duplicate"  # same body, new id
    apply_received(hub)
    assert apply_received(hub) == {}  # nothing left to apply
    assert counts(hub) == (1, 1, 1)


@pytest.mark.parametrize("applied_between", [False, True], ids=["one-pass", "a-pass-each"])
def test_out_of_order_deliveries_converge_on_the_newest_version(hub: Hub, applied_between: bool) -> None:
    """The paid update before the create (one pass, or the newer already applied when the older comes)."""
    newer = order_body(updated_at=BASE_TIME + timedelta(hours=1), financial_status=FinancialStatus.PAID)
    older = order_body(updated_at=BASE_TIME, financial_status=FinancialStatus.PENDING)
    receive(hub, "shop", signed(newer, "d-new"), newer)
    if applied_between:
        apply_received(hub)
    receive(hub, "shop", signed(older, "d-old"), older)  # arrives after the newer one
    apply_received(hub)
    with hub.db.transaction() as session:
        row = session.scalars(select(OrderRow)).one()
    assert (row.state, row.financial_status) == ("confirmed", "paid")  # what polling the newest would reach


def test_a_delivery_that_does_not_map_is_answered_200_and_quarantined(hub: Hub) -> None:
    garbage = b'{"not": "an order"}'
    assert receive(hub, "shop", signed(garbage, "d-7"), garbage).status == 200
    broken = order_body("2")
    assert receive(hub, "shop", signed(broken, "d-8", topic="order/broken"), broken).status == 200
    good = order_body("3")
    receive(hub, "shop", signed(good, "d-9"), good)
    report = apply_received(hub)["shop"]
    assert (report.applied, report.quarantined) == (2, 1)  # the unreadable delivery; the garbage one mapped badly
    with hub.db.transaction() as session:
        inbox = {row.delivery_id: row.status for row in session.execute(select(InboxRow.delivery_id, InboxRow.status))}
        delivery = session.execute(select(DELIVERIES.c.reason).where(DELIVERIES.c.delivery_id == "d-8")).scalar()
        orders = list(session.scalars(select(OrderRow.external_id)))
    assert inbox == {"d-7": "quarantined", "d-9": "applied"}  # the next delivery did not wait behind the bad ones
    assert "this delivery cannot be read" in delivery
    assert orders == ["3"]


def test_a_delivery_stored_by_a_daemon_that_died_is_applied_by_the_next(hub: Hub, tmp_path: Path) -> None:
    body = order_body("4")
    receive(hub, "shop", signed(body, "d-10"), body)
    hub.close()  # the daemon that answered 200 is gone before it applied anything
    with Hub.open(tmp_path / "channelhub.toml", connect=True) as restarted:
        assert apply_received(restarted)["shop"].applied == 1
        with restarted.db.transaction() as session:
            assert list(session.scalars(select(OrderRow.external_id))) == ["4"]


def test_a_webhook_order_later_seen_by_polling_stays_one_order(hub: Hub) -> None:
    from channelhub.ports import RawRecord
    from channelhub.services.channels import apply_records

    body = order_body("5")
    receive(hub, "shop", signed(body, "d-11"), body)
    apply_received(hub)
    same = RawRecord("orders", "poll page 1", body.decode(), external_id="5")
    newer = RawRecord("orders", "poll page 2", order_body("5", updated_at=BASE_TIME + timedelta(hours=2)).decode())
    report = apply_records(hub, "shop", [same, newer], source="pull")
    assert (report.duplicates, report.orders.created, report.orders.updated) == (1, 0, 1)
    with hub.db.transaction() as session:
        assert list(session.scalars(select(OrderRow.external_id))) == ["5"]


def test_status_shows_the_last_webhook_and_the_orders_polling_found_first(hub: Hub) -> None:
    from channelhub.ports import RawRecord
    from channelhub.services.channels import apply_records
    from channelhub.services.views import channel_statuses

    (before,) = channel_statuses(hub)
    assert before.webhooks and before.last_webhook is None and before.missed_webhooks == 0
    body = order_body("6")
    receive(hub, "shop", signed(body, "d-12"), body)
    apply_received(hub)
    missed = RawRecord("orders", "poll page 1", order_body("7").decode())  # no webhook announced this one
    apply_records(hub, "shop", [missed], source="pull")
    (after,) = channel_statuses(hub)
    assert after.last_webhook is not None and after.missed_webhooks == 1


def test_run_with_the_server_off_still_applies_deliveries_stored_before(hub: Hub, tmp_path: Path) -> None:
    import subprocess
    import sys

    body = order_body("8")
    receive(hub, "shop", signed(body, "d-13"), body)
    hub.close()
    config = tmp_path / "channelhub.toml"
    config.write_text(config.read_text() + "\n[http]\nenabled = false\n")
    command = [sys.executable, "-c", "from channelhub.cli import app; app()", "--config", str(config), "run",
               "--for-seconds", "3"]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    with Hub.open(config) as reopened, reopened.db.transaction() as session:
        assert list(session.scalars(select(OrderRow.external_id))) == ["8"]
        assert session.scalar(select(DELIVERIES.c.status)) == "applied"
