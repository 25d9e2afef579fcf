"""Arrows point down (DESIGN.md): cli, daemon -> web; cli, web, daemon, demo -> services -> sync -> stock -> store
-> model, and the core never imports a connector. Checked on the source, import by import, so a shortcut fails here
first."""

from __future__ import annotations

import ast
from pathlib import Path

import channelhub

SRC = Path(channelhub.__file__).parent

# For each package, the channelhub packages it must never import (at module level or inside a function).
# web (the HTTP app) may import services and below; only cli and daemon import web.
FORBIDDEN = {
    "model": {"store", "stock", "sync", "services", "cli", "daemon", "demo", "runtime", "config", "plugins", "web"},
    "store": {"stock", "sync", "services", "cli", "daemon", "demo", "runtime", "config", "plugins", "web"},
    "stock": {"sync", "services", "cli", "daemon", "demo", "runtime", "config", "plugins", "web"},
    "sync": {"services", "cli", "daemon", "demo", "runtime", "config", "plugins", "web"},
    "services": {"cli", "daemon", "demo", "web"},
    "web": {"cli", "daemon", "demo"},
    "demo": {"cli", "web"},
    "daemon": {"cli"},
    "cli": set(),
}
# telemetry (the process' own metrics) sits below everything, like logs: the ledger and the dispatcher count
# what they do with one line where the fact is known, so it may import no channelhub module at all.
BOTTOM = ("telemetry",)
# Every top-level module not named above (runtime, config, plugins, ports, errors, logs, redact, render,
# testing) must not import web either.
NOT_WEB = {"web"}


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def layer_of(path: Path) -> str:
    relative = path.relative_to(SRC)
    return relative.parts[0].removesuffix(".py")


def test_no_package_imports_one_above_it() -> None:
    wrong = []
    for path in sorted(SRC.rglob("*.py")):
        layer = layer_of(path)
        for module in imports_of(path):
            parts = module.split(".")
            if parts[0] == "channelhub_connectors" and layer != "testing":
                wrong.append(f"{path.relative_to(SRC)} imports the connector {module}")
            if parts[0] == "channelhub" and len(parts) > 1 and parts[1] in FORBIDDEN.get(layer, NOT_WEB):
                wrong.append(f"{path.relative_to(SRC)} ({layer}) imports {module}")
    assert wrong == []


def test_the_bottom_modules_import_nothing_of_the_hub() -> None:
    for name in BOTTOM:
        hub_imports = {m for m in imports_of(SRC / f"{name}.py") if m.split(".")[0] == "channelhub"}
        assert hub_imports == set(), name


def test_the_check_sees_an_import() -> None:
    """The check itself can fail: the ledger does import the store, and the services do import sync."""
    assert "channelhub.store.tables" in imports_of(SRC / "stock" / "ledger.py")
    assert any(m.startswith("channelhub.sync") for m in imports_of(SRC / "services" / "orders.py"))
    assert "channelhub.services.health" in imports_of(SRC / "web" / "app.py")
    assert "prometheus_client" in imports_of(SRC / "telemetry.py")


# The test doubles of vendor APIs live under tests/doubles (DESIGN.md, "Test doubles"); graphql-core is only the
# fake Shopify shop's.
DOUBLES = {"doubles", "graphql"}
MOVED_DOUBLES = ("channelhub_connectors.shopify.testing", "channelhub_connectors.shopify.fake",
                 "channelhub_connectors.woocommerce.fake")  # fmt: skip


def test_nothing_shipped_imports_a_test_double() -> None:
    root = SRC.parents[1]
    shipped = sorted([*SRC.rglob("*.py"), *(root / "connectors").rglob("*.py")])
    assert shipped
    wrong = [
        f"{path.relative_to(root)} imports {module}"
        for path in shipped
        for module in imports_of(path)
        if module.split(".")[0] in DOUBLES or module.startswith(MOVED_DOUBLES)
    ]
    assert wrong == []
    connectors = {p.relative_to(root / "connectors").as_posix() for p in (root / "connectors").rglob("*.py")}
    assert not {p for p in connectors if "fake" in p or p.endswith("/testing.py") or p.endswith("/samples.py")}
    assert (root / "tests" / "doubles" / "shopify" / "fake_shop.py").is_file()
    assert (root / "tests" / "doubles" / "woocommerce" / "fake_store.py").is_file()
