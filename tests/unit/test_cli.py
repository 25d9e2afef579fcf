"""The command line over a real config and SQLite database: exit codes, what a merchant reads, what changes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.store import open_database
from channelhub.store.tables import InboxRow, OutboxRow, StockMovementRow
from channelhub.sync.apply import apply_orders
from channelhub.sync.outbox import enqueue
from channelhub.testing.fakes import make_order

# A drop-in connector beside the config: lists stock, so stock changes publish to it.
SHOP_PLUGIN = """
from channelhub.ports import Capability, Connector, EmptySettings, WriteResult


class ShopConnector(Connector):
    kind = "clishop"
    capabilities = frozenset({Capability.PUSH_STOCK})
    config_model = EmptySettings

    def push_stock(self, updates):
        return [WriteResult(u.idempotency_key, confirmed_quantity=u.quantity) for u in updates]
"""

CONFIG = """
database = "sqlite:///hub.db"

[[locations]]
code = "main"

[[channels]]
name = "shop"
kind = "clishop"
"""


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "clishop.py").write_text(SHOP_PLUGIN)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHANNELHUB_CONFIG", raising=False)
    return tmp_path


def invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def db_of(hub_dir: Path):
    return open_database(f"sqlite:///{hub_dir / 'hub.db'}")


def test_config_check_names_file_channel_and_key_and_exits_2(hub_dir: Path) -> None:
    (hub_dir / "channelhub.toml").write_text(CONFIG + "\n[channels.schedule]\npull_secnds = 5\n")
    result = invoke("config", "check")
    assert result.exit_code == 2
    assert "channelhub.toml" in result.stderr
    assert "channels[shop].schedule.pull_secnds" in result.stderr
    assert "Traceback" not in result.output


def test_config_check_ok_prints_a_summary(hub_dir: Path) -> None:
    result = invoke("config", "check")
    assert result.exit_code == 0, result.output
    assert "OK" in result.stdout
    assert "shop (clishop)" in result.stdout
    assert "main" in result.stdout


def test_broken_config_makes_any_command_exit_2_without_traceback(hub_dir: Path) -> None:
    (hub_dir / "channelhub.toml").write_text("database = \n")
    for args in (("status",), ("orders", "list"), ("stock", "show"), ("sync",), ("run", "--once")):
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "invalid TOML" in result.stderr
        assert "Traceback" not in result.output


def test_missing_config_names_the_file(hub_dir: Path) -> None:
    result = invoke("--config", str(hub_dir / "absent.toml"), "status")
    assert result.exit_code == 2
    assert "absent.toml" in result.stderr


def test_stock_set_then_show_publishes_to_the_channel(hub_dir: Path) -> None:
    result = invoke("stock", "set", "MUG-1", "7", "--reason", "count")
    assert result.exit_code == 0, result.output
    assert "1 stock update(s) queued" in result.stdout

    shown = invoke("stock", "show", "MUG-1")
    assert shown.exit_code == 0
    row = next(line for line in shown.stdout.splitlines() if "MUG-1" in line)
    assert "main" in row and "7" in row

    db = db_of(hub_dir)
    with db.transaction() as session:
        outbox = session.scalars(select(OutboxRow)).all()
        movements = session.scalars(select(StockMovementRow)).all()
    db.dispose()
    assert [(r.channel, r.payload) for r in outbox] == [("shop", {"sku": "MUG-1", "quantity": 7})]
    assert [(m.kind, m.delta_on_hand, m.reason) for m in movements] == [("set", 7, "count")]


def test_stock_adjust_refuses_to_go_below_reserved(hub_dir: Path) -> None:
    assert invoke("stock", "set", "MUG-1", "2", "--reason", "count").exit_code == 0
    result = invoke("stock", "adjust", "MUG-1", "--reason", "broken", "--", "-3")
    assert result.exit_code == 1
    assert "MUG-1" in result.stderr and "Traceback" not in result.output


def test_stock_set_releases_an_order_held_for_stock(hub_dir: Path) -> None:
    assert invoke("status").exit_code == 0  # creates and migrates the database
    db = db_of(hub_dir)
    with db.transaction() as session:
        apply_orders(session, [make_order("A-1", [("MUG-1", 2)], channel="shop")], source="test", policies=[])
    db.dispose()
    held = invoke("orders", "list", "--state", "on_hold")
    assert "A-1" in held.stdout

    result = invoke("stock", "set", "MUG-1", "5", "--reason", "delivery")
    assert result.exit_code == 0, result.output
    assert "1 held order(s) confirmed" in result.stdout
    assert "A-1" in invoke("orders", "list", "--state", "confirmed").stdout


def test_orders_list_and_show(hub_dir: Path) -> None:
    assert invoke("stock", "set", "MUG-1", "1", "--reason", "count").exit_code == 0
    db = db_of(hub_dir)
    with db.transaction() as session:
        apply_orders(
            session,
            [make_order("A-1", [("MUG-1", 1)], channel="shop"), make_order("A-2", [("MUG-1", 1)], channel="shop")],
            source="test",
            policies=[],
        )
    db.dispose()

    listed = invoke("orders", "list")
    assert listed.exit_code == 0
    assert "A-1" in listed.stdout and "A-2" in listed.stdout

    shown = invoke("orders", "show", "shop:A-2")
    assert shown.exit_code == 0, shown.output
    assert "state: on_hold" in shown.stdout
    assert "hold reason:" in shown.stdout and "MUG-1" in shown.stdout
    assert "A-2-L1" in shown.stdout  # the line

    missing = invoke("orders", "show", "shop:NOPE")
    assert missing.exit_code == 1
    assert "no order 'shop:NOPE'" in missing.stderr


def test_outbox_list_and_retry_dead(hub_dir: Path) -> None:
    assert invoke("status").exit_code == 0
    db = db_of(hub_dir)
    with db.transaction() as session:
        enqueue(
            session, channel="shop", kind="stock", subject="MUG-1", payload={"sku": "MUG-1", "quantity": 3}, cause="t"
        )
        session.flush()
        row = session.scalars(select(OutboxRow)).one()
        row.status, row.attempts, row.last_error = "dead", 8, "HTTP 400: listing not found"
        dead_id = row.id

    listed = invoke("outbox", "list", "--status", "dead")
    assert listed.exit_code == 0
    assert "MUG-1 -> 3" in listed.stdout and "listing not found" in listed.stdout
    assert "MUG-1" not in invoke("outbox", "list", "--status", "pending").stdout

    assert invoke("outbox", "retry").exit_code == 2  # neither ids nor --all-dead
    retried = invoke("outbox", "retry", str(dead_id))
    assert retried.exit_code == 0, retried.output
    assert "1 dead write(s) queued again" in retried.stdout
    with db.transaction() as session:
        row = session.get(OutboxRow, dead_id)
        assert (row.status, row.attempts) == ("pending", 0)
    db.dispose()


def test_quarantine_list_shows_file_line_and_reason(hub_dir: Path) -> None:
    assert invoke("status").exit_code == 0
    db = db_of(hub_dir)
    with db.transaction() as session:
        session.add(
            InboxRow(
                channel="shop",
                stream="orders",
                source="inbox/orders-2.tsv line 4",
                body="A-9\tMUG-1\tlots",
                status="quarantined",
                reason="inbox/orders-2.tsv line 4: quantity: 'lots' is not a whole number",
            )
        )
    db.dispose()
    result = invoke("quarantine", "list")
    assert result.exit_code == 0
    line = next(text for text in result.stdout.splitlines() if "orders-2.tsv" in text)
    assert "line 4" in line and "'lots' is not a whole number" in line


def test_status_lists_each_channel_with_its_queue(hub_dir: Path) -> None:
    assert invoke("stock", "set", "MUG-1", "4", "--reason", "count").exit_code == 0
    result = invoke("status")
    assert result.exit_code == 0
    row = next(line for line in result.stdout.splitlines() if "shop" in line)
    assert "clishop" in row
    assert " 1 " in row  # one pending stock write


def test_sync_dispatches_pending_writes(hub_dir: Path) -> None:
    assert invoke("stock", "set", "MUG-1", "4", "--reason", "count").exit_code == 0
    result = invoke("sync")
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.stdout
    db = db_of(hub_dir)
    with db.transaction() as session:
        assert [r.status for r in session.scalars(select(OutboxRow))] == ["done"]
    db.dispose()


def test_inspect_prints_canonical_orders_as_json(hub_dir: Path) -> None:
    sample = hub_dir / "orders.csv"
    sample.write_text(
        textwrap.dedent(
            """\
            order_id,order_date,sku,quantity,unit_price,currency,ship_country
            W-1,2026-01-05 10:00:00,MUG-1,2,9.50,EUR,DE
            W-2,2026-01-05 11:00:00,MUG-2,lots,9.50,EUR,DE
            """
        )
    )
    result = invoke("inspect", "marketplace", str(sample), "--layout", "generic_orders")
    assert not (hub_dir / "hub.db").exists()  # no database touched
    orders = json.loads(result.stdout)
    assert [o["external_id"] for o in orders] == ["W-1"]
    assert orders[0]["lines"][0]["sku"] == "MUG-1" and orders[0]["lines"][0]["quantity"] == 2
    assert result.exit_code == 1  # the bad row is a problem
    assert "orders.csv" in result.stderr and "lots" in result.stderr


# A drop-in order source: each orders/*.json beside the config is one canonical order; a SKU listed in
# unmapped.txt does not map (the "fix" is deleting that file).
JSON_PLUGIN = """
from pathlib import Path

from channelhub.errors import MappingError
from channelhub.model.orders import Order
from channelhub.ports import Capability, Connector, EmptySettings, PulledPage, RawRecord


class JsonShop(Connector):
    kind = "jsonshop"
    capabilities = frozenset({Capability.PULL_ORDERS})
    config_model = EmptySettings

    def pull_orders(self, request):
        folder = Path(self.context.base_dir) / "orders"
        records = [RawRecord("orders", f"orders/{p.name}", p.read_text()) for p in sorted(folder.glob("*.json"))]
        yield PulledPage(records=records, label="orders")

    def map_order(self, record):
        order = Order.model_validate_json(record.body)
        unmapped = Path(self.context.base_dir) / "unmapped.txt"
        blocked = set(unmapped.read_text().split()) if unmapped.exists() else set()
        for line in order.lines:
            if line.sku in blocked:
                raise MappingError(f"no mapping for SKU {line.sku}")
        return order
"""


def test_quarantine_replay_applies_rows_once_the_cause_is_fixed(hub_dir: Path) -> None:
    (hub_dir / "connectors" / "jsonshop.py").write_text(JSON_PLUGIN)
    (hub_dir / "channelhub.toml").write_text(CONFIG + '\n[[channels]]\nname = "web"\nkind = "jsonshop"\n')
    (hub_dir / "orders").mkdir()
    (hub_dir / "orders" / "w-1.json").write_text(make_order("W-1", [("MUG-1", 1)], channel="web").model_dump_json())
    (hub_dir / "orders" / "w-2.json").write_text(make_order("W-2", [("OLD-SKU", 1)], channel="web").model_dump_json())
    (hub_dir / "unmapped.txt").write_text("OLD-SKU\n")

    synced = invoke("sync", "--channel", "web")
    assert synced.exit_code == 0, synced.output
    assert "1 quarantined" in synced.stdout
    listed = invoke("quarantine", "list")
    line = next(text for text in listed.stdout.splitlines() if "w-2.json" in text)
    assert "no mapping for SKU OLD-SKU" in line

    (hub_dir / "unmapped.txt").unlink()
    replayed = invoke("quarantine", "replay")
    assert replayed.exit_code == 0, replayed.output
    assert "web: 1 applied, 0 still quarantined" in replayed.stdout
    assert "nothing in quarantine" in invoke("quarantine", "list").stdout
    assert "W-2" in invoke("orders", "list", "--channel", "web").stdout
    # Replaying again finds nothing: the order is not applied twice.
    assert "applied" not in invoke("quarantine", "replay").stdout


def test_orders_show_lists_every_line_fees_notes_and_the_totals_warning(hub_dir: Path) -> None:
    from channelhub.model.money import MoneyBag
    from channelhub.model.orders import Fee, LineKind, OrderLine, Totals
    from channelhub.sync.ingest import IngestRules, prepare

    assert invoke("stock", "set", "MUG-1", "5", "--reason", "count").exit_code == 0
    base = make_order("B-1", [("MUG-1", 1)], channel="shop")
    gift = OrderLine(
        external_id="B-1-L2", sku=None, requires_stock=False, kind=LineKind.GIFT_CARD, title="Gift card",
        quantity=1, unit_price=MoneyBag.of("25.00", "EUR"),
    )  # fmt: skip
    unmapped = OrderLine(external_id="B-1-L3", title="Purple Shirt", variant_title="L", quantity=1,
                         unit_price=MoneyBag.of("5.00", "EUR"))  # fmt: skip
    order = base.model_copy(
        update={
            "lines": (*base.lines, gift, unmapped),
            "fees": (Fee(title="Gift wrap", amount=MoneyBag.of("2.00", "EUR")),),
            "taxes_included": True,
            "note": "leave at the back door",
            "customer_note": "please hurry",
            "tags": ("vip", "wholesale"),
            "totals": Totals(subtotal=MoneyBag.of("40.00", "EUR"), total=MoneyBag.of("45.00", "EUR")),
        }
    )
    db = db_of(hub_dir)
    with db.transaction() as session:
        apply_orders(session, [prepare(order, IngestRules())], source="test", policies=[])
    db.dispose()

    shown = invoke("orders", "show", "shop:B-1")
    assert shown.exit_code == 0, shown.output
    out = " ".join(shown.stdout.split())
    assert "hold reason: line 3 'Purple Shirt - L' has no SKU" in out
    assert "no stock (gift_card)" in out and "NO SKU: order held" in out
    assert "fee: Gift wrap 2.00 EUR" in out and "prices include tax: yes" in out
    assert "note: leave at the back door" in out and "customer note: please hurry" in out
    assert "tags: vip, wholesale" in out
    assert "warning: totals do not add up" in out and "42.00 EUR" in out and "45.00 EUR" in out
