"""Plugin discovery: a dropped-in file is enough, and one broken plugin never stops the others."""

from __future__ import annotations

import shutil
import textwrap
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest
from pydantic import BaseModel

from channelhub import plugins
from channelhub.config import load_config
from channelhub.errors import PluginError
from channelhub.plugins import Registry, discover, validate_connector_class
from channelhub.ports import BatchLimits, Capability, Connector, ConnectorContext, EmptySettings, PullRequest

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plugins"

HEADER = "from channelhub.ports import BatchLimits, Capability, Connector, EmptySettings\n"
BROKEN = {
    "syntax_error.py": HEADER + "class Broken(Connector)\n    kind = 'broken'\n",
    "import_error.py": HEADER + "import channelhub_no_such_vendor_sdk\n",
    "missing_method.py": HEADER
    + textwrap.dedent(
        """
        class HalfDone(Connector):
            kind = "halfdone"
            capabilities = frozenset({Capability.PULL_ORDERS})
            config_model = EmptySettings

            def pull_orders(self, request):
                return iter(())
        """
    ),
    "bad_capabilities.py": HEADER
    + textwrap.dedent(
        """
        class Stringly(Connector):
            kind = "stringly"
            capabilities = {"push_stock"}
            config_model = EmptySettings

            def push_stock(self, updates):
                return []
        """
    ),
    "raises_at_import.py": HEADER + "raise RuntimeError('vendor SDK needs a licence key')\n",
}


def drop(folder: Path, *names: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = FIXTURES / name
        if source.is_dir():
            shutil.copytree(source, folder / name)
        else:
            shutil.copy(source, folder / name)
    return folder


def write_config(folder: Path, body: str) -> Path:
    path = folder / "channelhub.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_dropping_one_file_makes_its_kind_usable(tmp_path: Path) -> None:
    drop(tmp_path / "connectors", "fileshop.py")
    path = write_config(
        tmp_path,
        """
        [[channels]]
        name = "corner-shop"
        kind = "fileshop"
        [channels.settings]
        root = "incoming"
        """,
    )
    config = load_config(path)
    channel = config.channel("corner-shop")
    connector = config.registry.create(channel.kind, channel.connector_config, ConnectorContext(channel=channel.name))
    assert connector.kind == "fileshop" and connector.channel == "corner-shop"
    page = next(
        connector.pull_orders(PullRequest(cursor=None, overlap=timedelta(0), now=datetime(2024, 1, 1, tzinfo=UTC)))
    )
    assert connector.map_order(page.records[0]).channel == "corner-shop"


def test_connector_dirs_named_in_the_config_are_searched(tmp_path: Path) -> None:
    drop(tmp_path / "vendor-plugins", "fileshop.py")
    path = write_config(
        tmp_path,
        """
        connector_dirs = ["vendor-plugins"]
        [[channels]]
        name = "corner-shop"
        kind = "fileshop"
        settings = { root = "x" }
        """,
    )
    config = load_config(path)
    assert config.channel("corner-shop").connector_class.kind == "fileshop"
    assert (tmp_path / "vendor-plugins").resolve() in config.connector_dirs


def test_a_package_folder_is_a_plugin_and_may_import_relatively(tmp_path: Path) -> None:
    registry = discover([drop(tmp_path / "plugins", "package_plugin")], entry_points=False)
    assert registry.problems == []
    assert set(registry.kinds) == {"packaged"}
    assert registry.source_of("packaged") == str(tmp_path / "plugins" / "package_plugin")


def test_broken_plugins_are_reported_with_file_and_reason_while_the_good_one_loads(tmp_path: Path) -> None:
    folder = drop(tmp_path / "connectors", "fileshop.py")
    for name, text in BROKEN.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "_private_helper.py").write_text("raise SystemExit('never imported')\n", encoding="utf-8")

    registry = discover([folder], entry_points=False)

    assert set(registry.kinds) == {"fileshop"}
    reasons = {Path(p.source).name: p.reason for p in registry.problems}
    assert set(reasons) == set(BROKEN)
    assert reasons["syntax_error.py"].startswith("import failed: SyntaxError at line 2")
    assert "ModuleNotFoundError" in reasons["import_error.py"]
    assert "channelhub_no_such_vendor_sdk" in reasons["import_error.py"]
    assert "declares pull_orders but does not implement map_order()" in reasons["missing_method.py"]
    assert "capabilities must be a frozenset" in reasons["bad_capabilities.py"]
    assert "RuntimeError: vendor SDK needs a licence key" in reasons["raises_at_import.py"]


def test_two_plugins_claiming_one_kind_first_wins_and_the_second_is_reported(tmp_path: Path) -> None:
    first = drop(tmp_path / "a", "fileshop.py")
    second = drop(tmp_path / "b", "fileshop.py")
    registry = discover([first, second], entry_points=False)
    assert registry.source_of("fileshop") == str(first / "fileshop.py")
    [problem] = registry.problems
    assert problem.source == str(second / "fileshop.py")
    assert "kind 'fileshop' is already provided by" in problem.reason and str(first) in problem.reason


def test_entry_points_load_before_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module_dir = drop(tmp_path / "site", "fileshop.py")
    (module_dir / "fileshop.py").rename(module_dir / "channelhub_test_ep_fileshop.py")
    monkeypatch.syspath_prepend(str(module_dir))
    eps = [
        metadata.EntryPoint("fileshop", "channelhub_test_ep_fileshop:FileshopConnector", plugins.ENTRY_POINT_GROUP),
        metadata.EntryPoint("gone", "channelhub_test_ep_missing:Nothing", plugins.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(
        plugins.metadata, "entry_points", lambda group: eps if group == plugins.ENTRY_POINT_GROUP else []
    )

    registry = discover([drop(tmp_path / "connectors", "fileshop.py")])

    assert registry.source_of("fileshop") == "entry point fileshop (channelhub_test_ep_fileshop:FileshopConnector)"
    # Entry points load when first needed, so the order of the problems is not the order of discovery.
    sources = sorted(p.source for p in registry.problems)
    assert sources == sorted(
        ["entry point gone (channelhub_test_ep_missing:Nothing)", str(tmp_path / "connectors" / "fileshop.py")]
    )


def test_entry_points_are_imported_only_when_their_kind_is_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Startup time: a command that uses one kind must not import every installed connector's vendor library."""
    loaded: list[str] = []

    class Recording(metadata.EntryPoint):
        def load(self):  # type: ignore[no-untyped-def]
            loaded.append(self.name)
            return super().load()

    module_dir = drop(tmp_path / "site", "fileshop.py")
    monkeypatch.syspath_prepend(str(module_dir))
    eps = [
        Recording("fileshop", "fileshop:FileshopConnector", plugins.ENTRY_POINT_GROUP),
        Recording("gone", "channelhub_test_ep_missing:Nothing", plugins.ENTRY_POINT_GROUP),
    ]
    monkeypatch.setattr(plugins.metadata, "entry_points", lambda group: eps)
    registry = discover([])
    assert loaded == []
    assert registry.get("fileshop") is not None and loaded == ["fileshop"]
    assert [p.source for p in registry.problems] == ["entry point gone (channelhub_test_ep_missing:Nothing)"]
    assert loaded == ["fileshop", "gone"]  # asking for every problem loads the rest


def test_missing_folders_are_skipped(tmp_path: Path) -> None:
    registry = discover([tmp_path / "nowhere"], entry_points=False)
    assert registry.kinds == {} and registry.problems == []


@pytest.mark.parametrize("kind", ["marketplace", "shopify", "woocommerce", "easypost", "shipstation"])
def test_each_builtin_connector_loads_through_its_entry_point(kind: str) -> None:
    # No skip when one is missing or broken: the built-in connectors ship with the hub, so that is a failure.
    registry = discover([], entry_points=True)
    assert kind in registry.kinds, registry.problems
    assert str(registry.source_of(kind)).startswith(f"entry point {kind}")


# --- validate_connector_class -------------------------------------------------------------------------------------


class Settings(BaseModel):
    pass


class Good(Connector):
    kind = "good"
    capabilities = frozenset({Capability.PUSH_STOCK})
    config_model = EmptySettings

    def push_stock(self, updates):  # type: ignore[no-untyped-def]
        return []


def variant(**attrs: object) -> type[Connector]:
    return type("Variant", (Good,), dict(attrs))


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (variant(kind="Bad Kind"), "kind must be a lowercase name"),
        (variant(kind=""), "kind must be a lowercase name"),
        (variant(capabilities=frozenset({"push_stock"})), "must be channelhub.ports.Capability members"),
        (variant(capabilities=[Capability.PUSH_STOCK]), "capabilities must be a frozenset"),
        (variant(config_model=dict), "config_model must be a pydantic BaseModel subclass"),
        (variant(limits=BatchLimits(stock_per_call=0)), "limits.stock_per_call must be a positive integer"),
        (variant(limits=(10, 1)), "limits must be a channelhub.ports.BatchLimits"),
        (variant(capabilities=frozenset({Capability.WEBHOOKS})), "declares webhooks but does not implement"),
        (int, "is not a subclass of channelhub.ports.Connector"),
    ],
)
def test_validate_connector_class_names_each_breach(cls: type, expected: str) -> None:
    reasons = validate_connector_class(cls)
    assert any(expected in r for r in reasons), reasons


def test_validate_connector_class_accepts_a_good_class() -> None:
    assert validate_connector_class(Good) == []


def test_registry_create_refuses_unknown_kinds_and_wraps_constructor_failures() -> None:
    class Exploding(Good):
        kind = "exploding"

        def __init__(self, config: BaseModel, context: ConnectorContext) -> None:
            raise KeyError("vendor_field")

    registry = Registry()
    assert registry.register(Exploding, "test")
    context = ConnectorContext(channel="shop")
    with pytest.raises(PluginError, match="unknown connector kind 'nope' \\(known kinds: exploding\\)"):
        registry.create("nope", EmptySettings(), context)
    with pytest.raises(PluginError, match="exploding connector failed to start: KeyError") as caught:
        registry.create("exploding", EmptySettings(), context)
    assert caught.value.where == "shop"
    with pytest.raises(PluginError, match="expects a EmptySettings"):
        registry.create("exploding", Settings(), context)
