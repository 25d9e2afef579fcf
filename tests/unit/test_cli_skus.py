"""`channelhub sku import` and `sku show` over a real config and SQLite database."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from channelhub.cli import app

CONFIG = """
database = "sqlite:///hub.db"

[shop]
country = "DE"

[[locations]]
code = "main"
"""
HEADER = "sku,title,hs_code,origin_country,customs_description,declared_value,declared_currency,weight_grams\n"


@pytest.fixture
def hub_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHANNELHUB_CONFIG", raising=False)
    return tmp_path


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args))


def test_import_then_show(hub_dir: Path) -> None:
    (hub_dir / "skus.csv").write_text(HEADER + "MUG-1,Mug,691200,PT,Ceramic mug,4.50,EUR,350\nTEE-M,Tee,,,,,,180\n")
    result = invoke("sku", "import", "skus.csv")
    assert result.exit_code == 0, result.output
    assert "2 row(s) imported (2 new SKU(s), 0 updated), 0 refused" in result.stdout
    shown = invoke("sku", "show", "MUG-1")
    assert shown.exit_code == 0, shown.output
    for text in ("691200", "PT", "Ceramic mug", "4.50 EUR", "350", "customs data complete"):
        assert text in shown.stdout
    partial = invoke("sku", "show", "TEE-M")
    assert "missing for customs: hs_code, origin_country, customs_description, declared_value" in partial.stdout


def test_a_refused_row_is_printed_with_its_line_and_exits_1(hub_dir: Path) -> None:
    (hub_dir / "skus.csv").write_text(HEADER + "MUG-1,,691200,PT,Mug,1,EUR,1\nBAD,,691200,XX,Mug,1,EUR,1\n")
    result = invoke("sku", "import", "skus.csv")
    assert result.exit_code == 1
    assert "1 row(s) imported (1 new SKU(s), 0 updated), 1 refused" in result.stdout
    assert "refused skus.csv:3: 'BAD' origin_country: unknown ISO 3166-1 alpha-2" in result.stdout.replace("\n", " ")
    assert invoke("sku", "show", "MUG-1").exit_code == 0


def test_a_broken_file_an_absent_file_and_an_unknown_sku_fail_with_one_line(hub_dir: Path) -> None:
    (hub_dir / "skus.csv").write_text("sku,hs_cod\nA,1\n")
    broken = invoke("sku", "import", "skus.csv")
    assert broken.exit_code == 1 and "unknown column(s) 'hs_cod'" in broken.stderr
    absent = invoke("sku", "import", "nope.csv")
    assert absent.exit_code == 2 and "no such file" in absent.output
    unknown = invoke("sku", "show", "NOPE")
    assert unknown.exit_code == 1 and "unknown SKU 'NOPE'" in unknown.stderr
    assert "Traceback" not in broken.output + absent.output + unknown.output
