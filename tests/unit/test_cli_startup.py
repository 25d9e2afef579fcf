"""Start-up: a command imports only what it uses (defect 12: every command took 3.5-5 s to start, --version alone
3.6 s, 2.2 s of it imports). Checked by what is loaded, not by the clock: these machines are noisy, and
`python -X importtime` shows the times (see the issue's closing note)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("sqlalchemy", "alembic", "apscheduler", "paramiko", "httpx", "requests", "woocommerce",
         "channelhub_connectors", "yaml", "tenacity")  # fmt: skip

PROBE = """
import json, sys
from channelhub.cli import app
sys.argv = ["channelhub", *json.loads(sys.argv[1])]
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def loaded_by(*args: str, cwd: Path | None = None) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))], capture_output=True, text=True, cwd=cwd, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_version_and_help_load_neither_the_hub_nor_any_library_it_drives() -> None:
    assert loaded_by("--version") & {*HEAVY, "pydantic"} == set()
    for args in (["--help"], ["stock", "--help"]):  # typer's help imports pydantic itself: not ours to avoid
        assert loaded_by(*args) & set(HEAVY) == set(), args


def test_status_of_a_marketplace_channel_loads_no_other_connector_and_no_migration_tool(tmp_path: Path) -> None:
    (tmp_path / "files" / "inbox").mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(
        'database = "sqlite:///hub.db"\n[[locations]]\ncode = "main"\n'
        '[[channels]]\nname = "files"\nkind = "marketplace"\n[channels.settings]\nroot = "files"\n'
    )
    assert subprocess.run(  # a first command creates and migrates the database
        [sys.executable, "-c", "from channelhub.cli import app; app()", "--config", "channelhub.toml", "status"],
        cwd=tmp_path, capture_output=True, timeout=120,
    ).returncode == 0  # fmt: skip
    loaded = loaded_by("--config", "channelhub.toml", "status", cwd=tmp_path)
    assert "channelhub_connectors" in loaded and "sqlalchemy" in loaded
    assert loaded & {"alembic", "apscheduler", "paramiko", "httpx", "requests", "woocommerce"} == set()


def test_the_cli_copy_of_the_quantity_bound_is_the_models() -> None:
    """`stock set/adjust` refuse out-of-range figures at parse time with a constant of their own, so that the
    command line does not import the model (pydantic) to know it."""
    from channelhub.cli.stock import MAX_UNITS
    from channelhub.model.limits import MAX_QUANTITY

    assert MAX_UNITS == MAX_QUANTITY
