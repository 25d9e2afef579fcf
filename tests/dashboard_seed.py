"""A hub with something on every dashboard page, for the dashboard's unit tests (TestClient) and browser tests.

One channel, `shop`, of a drop-in connector beside the config: each orders/*.json is one canonical order, a
SKU named in unmapped.txt does not map (quarantine; the "fix" is deleting that file), and stock writes are
confirmed as sent. Seeded through the services, as the daemon would:

- MUG-1: 5 on hand at `main`; order W-1 (MUG-1 x1) confirmed;
- W-2 (TEA-9 x1): held, the ledger knows no TEA-9 (a stock hold, the reason names the SKU);
- W-3 (OLD-SKU x1): quarantined, "no mapping for SKU OLD-SKU", until unmapped.txt goes;
- W-4: held by the channel with a hostile reason (markup that must reach the page escaped);
- a stock write to `shop` made dead, with its last error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from channelhub.runtime import Hub
from channelhub.services.channels import pull_channel
from channelhub.services.stock import set_stock
from channelhub.store.tables import InboxRow, OrderRow, OutboxRow
from channelhub.testing.fakes import make_order

TOKEN = "dashboard-test-token-0123456789"
HOSTILE = '<script>alert("owned")</script><img src=x onerror=alert(1)>'
DEAD_ERROR = "HTTP 400: listing not found"

SHOP_PLUGIN = """
from pathlib import Path

from channelhub.errors import MappingError
from channelhub.model.orders import Order
from channelhub.ports import Capability, Connector, EmptySettings, PulledPage, RawRecord, WriteResult


class DashShop(Connector):
    kind = "dashshop"
    capabilities = frozenset({Capability.PULL_ORDERS, Capability.PUSH_STOCK})
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

    def push_stock(self, updates):
        return [WriteResult(u.idempotency_key, confirmed_quantity=u.quantity) for u in updates]
"""

CONFIG = f"""
database = "sqlite:///hub.db"

[http]
listen = "127.0.0.1:0"
token = "{TOKEN}"

[[locations]]
code = "main"

[[channels]]
name = "shop"
kind = "dashshop"
"""


@dataclass(frozen=True)
class Seeded:
    hub: Hub
    root: Path
    held_stock: int  # W-2's hub id
    held_hostile: int  # W-4's hub id
    dead_write: int  # the dead outbox row's id
    quarantined: int  # W-3's inbox id


def write_config(root: Path, *, token: str | None = TOKEN) -> Path:
    (root / "connectors").mkdir(parents=True, exist_ok=True)
    (root / "connectors" / "dashshop.py").write_text(SHOP_PLUGIN, encoding="utf-8")
    config = CONFIG if token else CONFIG.replace(f'token = "{TOKEN}"\n', "")
    if token and token != TOKEN:
        config = config.replace(TOKEN, token)
    (root / "channelhub.toml").write_text(config, encoding="utf-8")
    return root / "channelhub.toml"


def seed(root: Path, *, now: datetime | None = None) -> Seeded:
    """Write the config and orders under `root`, open the hub (connected) and pull; the caller closes the hub."""
    at = now or datetime.now(UTC)
    path = write_config(root)
    orders = root / "orders"
    orders.mkdir()
    placed = at - timedelta(hours=2)
    samples = {
        "w-1": make_order("W-1", [("MUG-1", 1)], placed_at=placed),
        "w-2": make_order("W-2", [("TEA-9", 1)], placed_at=placed + timedelta(minutes=1)),
        "w-3": make_order("W-3", [("OLD-SKU", 1)], placed_at=placed + timedelta(minutes=2)),
        "w-4": make_order("W-4", [("MUG-1", 1)], placed_at=placed + timedelta(minutes=3), hold_reason=HOSTILE),
    }
    for name, order in samples.items():
        (orders / f"{name}.json").write_text(order.model_dump_json(), encoding="utf-8")
    (root / "unmapped.txt").write_text("OLD-SKU\n", encoding="utf-8")
    hub = Hub.open(path, connect=True)
    set_stock(hub, "MUG-1", 5, location="main", reason="count", now=at)
    report = pull_channel(hub, "shop")
    assert report is not None and report.quarantined == 1, report
    with hub.db.transaction() as session:
        write = session.scalars(select(OutboxRow).where(OutboxRow.kind == "stock").order_by(OutboxRow.id)).first()
        assert write is not None
        write.status, write.attempts, write.last_error = "dead", 8, DEAD_ERROR
        ids = {row.external_id: row.id for row in session.scalars(select(OrderRow))}
        inbox = session.scalars(select(InboxRow).where(InboxRow.status == "quarantined")).one()
        return Seeded(hub, root, ids["W-2"], ids["W-4"], write.id, inbox.id)


def fix_quarantine(seeded: Seeded) -> None:
    """The operator's fix for W-3: the SKU maps now."""
    (seeded.root / "unmapped.txt").unlink()
