"""A line without a SKU end to end through the CLI: `channelhub sync` holds its order naming the line, `orders
show` marks it, and after a SKU map entry `channelhub quarantine replay` maps the order again and reserves it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.store import open_database
from channelhub.store.tables import StockLevelRow

CONFIG = """
database = "sqlite:///hub.db"

[[locations]]
code = "main"

[[channels]]
name = "files"
kind = "marketplace"
sku_map_file = "skus.yaml"
[channels.settings]
root = "files"
orders_layout = "generic_orders"
"""


def test_a_sku_map_entry_and_a_replay_release_an_order_held_for_a_line_without_a_sku(tmp_path: Path) -> None:
    inbox = tmp_path / "files" / "inbox"
    inbox.mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    (tmp_path / "skus.yaml").write_text("{}\n")
    config = ["--config", str(tmp_path / "channelhub.toml")]

    def cli(*args: str) -> str:
        result = CliRunner().invoke(app, [*config, *args])
        assert result.exit_code == 0, result.output
        return " ".join(result.stdout.split())

    cli("stock", "set", "MUG", "10", "--reason", "count")
    cli("stock", "set", "SHIRT-P", "4", "--reason", "count")
    (inbox / "orders.csv").write_bytes(
        b"order_id,order_date,line_id,sku,title,quantity,unit_price,currency,ship_country\n"
        b"P-1,2026-11-20 10:00:00,1,MUG,Mug,1,9.50,EUR,DE\n"
        b"P-1,2026-11-20 10:00:00,2,,Purple Shirt,2,20.00,EUR,DE\n"
    )
    cli("sync", "--channel", "files")
    shown = cli("orders", "show", "files:P-1")
    assert "state: on_hold" in shown and "line 2 'Purple Shirt' has no SKU" in shown
    assert "NO SKU: order held" in shown

    (tmp_path / "skus.yaml").write_text('"title:Purple Shirt": SHIRT-P\n')
    replayed = cli("quarantine", "replay")
    assert "1 order(s) held for a line without a SKU mapped again: 1 confirmed" in replayed
    shown = cli("orders", "show", "files:P-1")
    assert "state: confirmed" in shown and "SHIRT-P" in shown
    db = open_database(f"sqlite:///{tmp_path / 'hub.db'}")
    with db.transaction() as session:
        reserved = {row.sku: row.reserved for row in session.execute(select(StockLevelRow.sku, StockLevelRow.reserved))}
    db.dispose()
    assert reserved == {"MUG": 1, "SHIRT-P": 2}
