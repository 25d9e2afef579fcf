"""The Shopify test doubles live under tests/ (DESIGN.md, "Test doubles"): nothing shipped imports one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOUBLES = {"doubles", "graphql"}  # the test doubles' package, and graphql-core, which only the fake shop needs


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_nothing_shipped_imports_a_test_double() -> None:
    shipped = sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "connectors").rglob("*.py")])
    assert shipped
    wrong = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in shipped
        for module in _imports(path)
        if module.split(".")[0] in DOUBLES
        or module.startswith(("channelhub_connectors.shopify.testing", "channelhub_connectors.shopify.fake"))
    ]
    assert wrong == []


def test_the_fake_shop_is_not_in_the_connector_package() -> None:
    left = sorted(p.name for p in (ROOT / "connectors" / "shopify").glob("*.py"))
    assert not {"testing.py", "fake_orders.py", "fake_schema.py", "samples.py"} & set(left), left
    assert (ROOT / "tests" / "doubles" / "shopify" / "fake_shop.py").is_file()


def test_the_check_sees_an_import() -> None:
    assert "doubles.shopify.fake_shop" in _imports(ROOT / "tests" / "unit" / "shopify" / "conftest.py")
