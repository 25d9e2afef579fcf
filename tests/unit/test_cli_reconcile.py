"""`channelhub stock reconcile` and the daemon's reconcile job, against a drop-in connector that keeps its
listing in a JSON file (dropped into connectors/ beside the config, as a merchant would)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.daemon import plan_jobs
from channelhub.runtime import Hub

PLUGIN = """
import json
from pathlib import Path
from pydantic import BaseModel, ConfigDict
from channelhub.ports import BatchLimits, Capability, Connector, WriteResult


class ListingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    file: str


class JsonListing(Connector):
    kind = "json-listing"
    capabilities = frozenset({Capability.PUSH_STOCK, Capability.PULL_STOCK})
    config_model = ListingSettings
    limits = BatchLimits(stock_per_call=50)

    def _path(self):
        return Path(self.context.base_dir) / self.config.file

    def _read(self):
        path = self._path()
        return json.loads(path.read_text()) if path.exists() else {}

    def push_stock(self, updates):
        listing = self._read()
        listing.update({u.sku: u.quantity for u in updates})
        self._path().write_text(json.dumps(listing))
        return [WriteResult(u.idempotency_key, confirmed_quantity=u.quantity) for u in updates]

    def pull_stock(self, skus):
        listing = self._read()
        return {sku: listing[sku] for sku in skus if sku in listing}
"""

CONFIG = """
database = "sqlite:///hub.db"

[[locations]]
code = "main"

[[channels]]
name = "listing"
kind = "json-listing"
reconcile = "heal"
[channels.schedule]
reconcile_seconds = 600
[channels.settings]
file = "listing.json"
"""


def test_reconcile_reports_drift_heals_it_and_the_daemon_plans_the_job(tmp_path: Path) -> None:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "json_listing.py").write_text(PLUGIN)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    config = ["--config", str(tmp_path / "channelhub.toml")]
    runner = CliRunner()
    for sku, qty in (("MUG", "4"), ("TEE", "2")):
        assert runner.invoke(app, [*config, "stock", "set", sku, qty, "--reason", "count"]).exit_code == 0
    assert runner.invoke(app, [*config, "sync"]).exit_code == 0
    listing = tmp_path / "listing.json"
    assert json.loads(listing.read_text()) == {"MUG": 4, "TEE": 2}

    clean = runner.invoke(app, [*config, "stock", "reconcile"], terminal_width=200)
    assert clean.exit_code == 0 and "2 SKU(s) checked, 0 drifted" in clean.output, clean.output

    listing.write_text(json.dumps({"MUG": 7}))  # edited at the channel, and TEE lost there
    drift = runner.invoke(app, [*config, "stock", "reconcile"], terminal_width=200)
    assert drift.exit_code == 1 and "2 drifted" in drift.output, drift.output
    assert "MUG" in drift.output and "TEE" in drift.output

    healed = runner.invoke(app, [*config, "stock", "reconcile", "--heal"], terminal_width=200)
    assert healed.exit_code == 0 and "2 queued to heal" in healed.output, healed.output
    assert runner.invoke(app, [*config, "sync"]).exit_code == 0
    assert json.loads(listing.read_text()) == {"MUG": 4, "TEE": 2}

    with Hub.open(tmp_path / "channelhub.toml", connect=True) as hub:
        jobs = {job.id: job.seconds for job in plan_jobs(hub)}
    assert jobs["reconcile:listing"] == 600
