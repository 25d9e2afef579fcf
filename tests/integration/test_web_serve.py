"""`channelhub serve` and `channelhub run` as real processes: they listen on [http] listen (port 0 here, the bound
address read from the log), answer /healthz and /readyz, take a signed webhook whose order then appears, and stop
cleanly on SIGTERM within a generous bound."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from channelhub_connectors.woocommerce.webhooks import signature
from process_helpers import channelhub_command
from sqlalchemy import select

from channelhub.store import open_database
from channelhub.store.tables import OrderRow
from waiting import wait_until

pytestmark = pytest.mark.slow

STOP_BOUND = 30.0  # seconds from SIGTERM to exit (generous: a loaded machine)
TOKEN = "integration-token-5b7e0c9d"
WEBHOOK_SECRET = "wc-webhook-secret-3f9a"
FIXTURES = Path(__file__).parents[1] / "fixtures" / "woocommerce"

CONFIG = """
database = "sqlite:///hub.db"

[sync]
dispatch_seconds = 1

[http]
listen = "127.0.0.1:0"
token_file = "http-token"

[[locations]]
code = "main"

[[channels]]
name = "files"
kind = "marketplace"
[channels.schedule]
pull_seconds = 1
push_seconds = 1
[channels.settings]
root = "files"
orders_layout = "generic_orders"
"""

WOO_CHANNEL = f"""
[[channels]]
name = "woo"
kind = "woocommerce"
[channels.settings]
store_url = "https://shop.invalid"
consumer_key = "ck_not_used_by_this_test"
consumer_secret = "cs_not_used_by_this_test"
webhook_secret = "{WEBHOOK_SECRET}"
"""


class HubProcess:
    """A `channelhub` process whose stderr (JSON log lines) is read as it comes."""

    def __init__(self, directory: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if k != "CHANNELHUB_CONFIG"}
        self.proc = subprocess.Popen(
            [*channelhub_command(), "--log-json", "--log-level", "INFO", *args, "--config", "channelhub.toml"],
            cwd=directory,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def url(self) -> str:
        """The address it listens on, once it says so in its log."""
        found: list[str] = []

        def listening() -> bool:
            found.extend(e["address"] for e in self.events() if e.get("event") == "http listening")
            return bool(found) or self.proc.poll() is not None

        assert wait_until(listening, timeout=60), "the server never said where it listens"
        assert found, f"exited with {self.proc.returncode}:\n" + "\n".join(self.lines)
        return found[0]

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=STOP_BOUND)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGUSR1)  # every thread's stack to stderr, for the failure below
            wait_until(lambda: any("most recent call first" in line for line in self.lines), timeout=10)
            self.proc.kill()
            self.proc.wait(timeout=10)
            pytest.fail(f"no exit within {STOP_BOUND}s of SIGTERM:\n" + "\n".join(self.lines[-60:]))
        self._reader.join(10)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    for sub in ("inbox", "processed", "outbox"):
        (tmp_path / "files" / sub).mkdir(parents=True)
    (tmp_path / "http-token").write_text(TOKEN + "\n", encoding="utf-8")
    (tmp_path / "channelhub.toml").write_text(CONFIG + WOO_CHANNEL, encoding="utf-8")
    return tmp_path


@pytest.fixture
def started(hub_dir: Path) -> Iterator[list[HubProcess]]:
    processes: list[HubProcess] = []
    yield processes
    for process in processes:
        process.kill()


def signed_order(delivery: str) -> tuple[dict[str, Any], bytes, dict[str, str]]:
    """A WooCommerce order.created delivery signed as the store signs it: (order, body, headers)."""
    order = json.loads((FIXTURES / "orders.json").read_text(encoding="utf-8"))[0]
    body = json.dumps(order).encode()
    headers = {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": "order.created",
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Signature": signature(WEBHOOK_SECRET, body),
    }
    return order, body, headers


def orders_of(hub_dir: Path, external_id: object) -> list[str]:
    """The channels of the stored orders with this external id (one entry per order)."""
    db = open_database(f"sqlite:///{hub_dir / 'hub.db'}", migrate=False)
    try:
        with db.transaction() as session:
            return list(session.scalars(select(OrderRow.channel).where(OrderRow.external_id == str(external_id))))
    finally:
        db.dispose()


def check_health(url: str) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=30) as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200, ready.text
    return ready.json()  # type: ignore[no-any-return]


def assert_clean_stop(process: HubProcess) -> None:
    assert process.stop() == 0, "\n".join(process.lines[-40:])
    names = [e.get("event") for e in process.events()]
    assert "signal received" in names and "http stopped" in names, names[-10:]
    assert TOKEN not in "\n".join(process.lines)
    assert not [e for e in process.events() if e.get("level") in {"error", "critical"}], process.lines[-20:]


def test_serve_answers_health_takes_a_signed_webhook_and_stops_on_sigterm(
    hub_dir: Path, started: list[HubProcess]
) -> None:
    process = HubProcess(hub_dir, "serve")
    started.append(process)
    url = process.url()
    ready = check_health(url)
    assert ready["scheduler"] == "not run by this process"
    assert set(ready["channels"]) == {"files", "woo"}

    order, body, headers = signed_order("delivery-1")
    with httpx.Client(base_url=url, timeout=30) as client:
        forged = client.post("/webhooks/woo", content=body, headers={**headers, "X-WC-Webhook-Signature": "AAAA"})
        answer = client.post("/webhooks/woo", content=body, headers=headers)
        again = client.post("/webhooks/woo", content=body, headers=headers)
        unknown = client.post("/webhooks/nope", content=body, headers=headers)
    assert (forged.status_code, forged.json()) == (401, {"outcome": "bad_signature"})
    assert (answer.status_code, answer.json()) == (200, {"outcome": "stored"})
    assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})
    assert unknown.status_code == 404

    assert wait_until(lambda: orders_of(hub_dir, order["id"]) == ["woo"], timeout=60), "never applied"
    assert_clean_stop(process)


def test_a_server_killed_right_after_answering_loses_no_webhook(hub_dir: Path, started: list[HubProcess]) -> None:
    """SIGKILL at once after the 200: the body is stored before the answer, and the next start applies it (the
    applier's first pass), once, whether or not the killed process had got to it."""
    first = HubProcess(hub_dir, "serve")
    started.append(first)
    order, body, headers = signed_order("delivery-kill")
    with httpx.Client(base_url=first.url(), timeout=30) as client:
        answer = client.post("/webhooks/woo", content=body, headers=headers)
    first.proc.kill()
    first.proc.wait(timeout=30)
    assert (answer.status_code, answer.json()) == (200, {"outcome": "stored"})

    second = HubProcess(hub_dir, "serve")
    started.append(second)
    second.url()
    assert wait_until(lambda: orders_of(hub_dir, order["id"]) == ["woo"], timeout=60), "the delivery was lost"
    with httpx.Client(base_url=second.url(), timeout=30) as client:  # the channel's retry: still one order
        again = client.post("/webhooks/woo", content=body, headers=headers)
    assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})
    assert orders_of(hub_dir, order["id"]) == ["woo"]
    assert_clean_stop(second)


def test_run_serves_beside_the_scheduler_and_stops_both_on_sigterm(hub_dir: Path, started: list[HubProcess]) -> None:
    (hub_dir / "channelhub.toml").write_text(CONFIG, encoding="utf-8")  # no WooCommerce: run would poll it
    process = HubProcess(hub_dir, "run")
    started.append(process)
    ready = check_health(process.url())
    assert ready["scheduler"] == "running"
    assert ready["channels"] == {"files": {"state": "running", "reason": ""}}
    assert_clean_stop(process)
    assert [e.get("event") for e in process.events()][-1] == "daemon stopped cleanly"


def test_run_for_seconds_serves_then_stops_by_itself(hub_dir: Path, started: list[HubProcess]) -> None:
    (hub_dir / "channelhub.toml").write_text(CONFIG, encoding="utf-8")
    process = HubProcess(hub_dir, "run", "--for-seconds", "30")
    started.append(process)
    check_health(process.url())
    assert process.stop() == 0  # SIGTERM before the 30 s are up: the same graceful stop


def test_run_once_and_a_disabled_server_open_no_socket(hub_dir: Path, started: list[HubProcess]) -> None:
    (hub_dir / "channelhub.toml").write_text(CONFIG, encoding="utf-8")
    once = HubProcess(hub_dir, "run", "--once")
    started.append(once)
    assert once.proc.wait(timeout=120) == 0
    once._reader.join(10)
    assert "http listening" not in [e.get("event") for e in once.events()]

    (hub_dir / "channelhub.toml").write_text(CONFIG.replace("[http]\n", "[http]\nenabled = false\n"), encoding="utf-8")
    daemon = HubProcess(hub_dir, "run", "--for-seconds", "2")
    started.append(daemon)
    assert daemon.proc.wait(timeout=120) == 0
    daemon._reader.join(10)
    assert "http listening" not in [e.get("event") for e in daemon.events()]
    serve = HubProcess(hub_dir, "serve")
    started.append(serve)
    assert serve.proc.wait(timeout=120) == 2
