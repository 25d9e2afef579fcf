"""Bad input end to end: one pass of `channelhub sync` over files with malformed rows, bytes in the wrong
encoding, a missing column and unknown SKUs imports every good row, quarantines or holds the rest with a reason a
merchant can act on, and the CLI shows those reasons."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.store import open_database
from channelhub.store.tables import InboxRow, OrderRow

CONFIG = """
database = "sqlite:///hub.db"

[[locations]]
code = "main"

[[channels]]
name = "files"
kind = "marketplace"
[channels.settings]
root = "files"
orders_layout = "generic_orders"
"""

HEADER = b"order_id,order_date,line_id,sku,quantity,unit_price,currency,ship_country\n"


@pytest.fixture
def hub(tmp_path: Path) -> Path:
    inbox = tmp_path / "files" / "inbox"
    inbox.mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    runner = CliRunner()
    for sku in ("MUG", "TEE"):
        result = runner.invoke(
            app, ["--config", str(tmp_path / "channelhub.toml"), "stock", "set", sku, "10", "--reason", "count"]
        )
        assert result.exit_code == 0, result.output
    (inbox / "a-mixed.csv").write_bytes(
        HEADER
        + b"G-1,2026-11-20 10:00:00,1,MUG,2,9.50,EUR,DE\n"  # good
        + b"B-1,2026-11-20 10:00:00,1,MUG,2,9.50\n"  # line 3: too few fields
        + b"B-2,2026-11-20 10:00:00,1,Caf\xe9-MUG,1,9.50,EUR,DE\n"  # line 4: cp1252 byte in a utf-8 file
        + b"U-1,2026-11-20 11:00:00,1,NO-SUCH-SKU,1,4.00,EUR,FR\n"  # unknown SKU: imported, held
        + b"G-2,2026-11-20 12:00:00,1,TEE,1,15.00,EUR,NL\n"  # good
        + b"G-2,2026-11-20 12:00:00,2,MUG,1,9.50,EUR,NL\n"  # good, same order
    )
    (inbox / "b-no-currency.csv").write_bytes(
        b"order_id,order_date,line_id,sku,quantity,unit_price,ship_country\n"
        + b"M-1,2026-11-20 10:00:00,1,MUG,1,9.50,DE\n"
    )
    return tmp_path


def test_good_rows_import_bad_ones_are_quarantined_or_held_with_reasons_shown(hub: Path) -> None:
    runner = CliRunner()
    config = ["--config", str(hub / "channelhub.toml")]
    result = runner.invoke(app, [*config, "sync"])
    assert result.exit_code == 0, result.output

    db = open_database(f"sqlite:///{hub / 'hub.db'}", migrate=False)
    with db.transaction() as session:
        orders = {ext: state for ext, state in session.execute(select(OrderRow.external_id, OrderRow.state))}
        holds = {ext: why for ext, why in session.execute(select(OrderRow.external_id, OrderRow.hold_reason))}
        quarantined = session.scalars(select(InboxRow.reason).where(InboxRow.status == "quarantined")).all()
    db.dispose()
    assert orders == {"G-1": "confirmed", "G-2": "confirmed", "U-1": "on_hold"}
    assert holds["U-1"] == "unknown SKU 'NO-SUCH-SKU'"
    assert len(quarantined) == 3, quarantined
    joined = "\n".join(quarantined)
    assert "a-mixed.csv line 3" in joined
    assert "a-mixed.csv line 4" in joined and "utf-8" in joined
    assert "b-no-currency.csv" in joined and "currency" in joined

    # Every file left the inbox: nothing waits there to be imported twice, nothing was dropped unrecorded.
    assert not list((hub / "files" / "inbox").glob("*.csv"))
    assert sorted(p.name for p in (hub / "files" / "processed").iterdir()) == ["a-mixed.csv", "b-no-currency.csv"]

    shown = runner.invoke(app, [*config, "quarantine", "list"], terminal_width=250)
    assert shown.exit_code == 0, shown.output
    for needle in ("a-mixed.csv line 3", "a-mixed.csv line 4", "b-no-currency.csv"):
        assert needle in shown.output, shown.output
    held = runner.invoke(app, [*config, "orders", "list", "--state", "on_hold"], terminal_width=250)
    assert held.exit_code == 0, held.output
    assert "U-1" in held.output and "unknown SKU 'NO-SUCH-SKU'" in held.output

    # The stock the good orders took is reserved; the held order took none.
    stock = runner.invoke(app, [*config, "stock", "show"], terminal_width=250)
    assert stock.exit_code == 0, stock.output
    assert "NO-SUCH-SKU" not in stock.output
