"""The default install (SQLite, no `postgres` extra) must work without the PostgreSQL driver."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def test_the_cli_and_a_sqlite_hub_work_without_psycopg(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.modules["psycopg"] = None  # what `import psycopg` meets in an install without the extra
        from typer.testing import CliRunner
        from channelhub.cli import app
        config = sys.argv[1]
        result = CliRunner().invoke(app, ["--config", config, "stock", "set", "MUG", "3", "--reason", "count"])
        assert result.exit_code == 0, result.output
        result = CliRunner().invoke(app, ["--config", config, "sync"])
        assert result.exit_code == 0, result.output
        print("ok")
        """
    )
    (tmp_path / "channelhub.toml").write_text('database = "sqlite:///hub.db"\n\n[[locations]]\ncode = "main"\n')
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "channelhub.toml")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
