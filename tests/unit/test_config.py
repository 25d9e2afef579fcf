"""channelhub.toml: what a good file gives, and every problem of a bad one named by file, channel and key."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from channelhub.config import InvalidConfig, load_config
from channelhub.errors import ConfigError
from channelhub.model.stock import BufferRules

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plugins"
EXAMPLE = Path(__file__).parents[2] / "config" / "channelhub.example.toml"


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    """A config folder with the drop-in `fileshop` (push_stock) and `packaged` (no push_stock) connectors."""
    (tmp_path / "connectors").mkdir()
    shutil.copy(FIXTURES / "fileshop.py", tmp_path / "connectors")
    shutil.copytree(FIXTURES / "package_plugin", tmp_path / "connectors" / "package_plugin")
    return tmp_path


def write(folder: Path, body: str, name: str = "channelhub.toml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InvalidConfig) as caught:
        load_config(path)
    assert isinstance(caught.value, ConfigError)
    return caught.value.problems


GOOD = """
    database = "sqlite:///data/hub.db"
    [sync]
    overlap_seconds = 120
    max_attempts = 3
    [log]
    level = "DEBUG"
    json = true
    [[locations]]
    code = "main"
    name = "Main warehouse"
    [[locations]]
    code = "overflow"
    priority = 5
    [[channels]]
    name = "amazon-uk"
    kind = "fileshop"
    locations = ["main"]
    skus = ["A", "B"]
    sku_map_file = "maps/amazon-uk.yaml"
    [channels.schedule]
    pull_seconds = 30
    [channels.buffers]
    percentage = 80
    max_listed = 50
    zero_below = 2
    [channels.settings]
    root = "drop/amazon"
    [[channels]]
    name = "stockist"
    kind = "packaged"
    [[channels]]
    name = "old-shop"
    kind = "fileshop"
    enabled = false
    settings = { root = "old" }
"""


def test_a_good_config_loads_with_defaults_and_resolved_paths(hub_dir: Path) -> None:
    (hub_dir / "maps").mkdir()
    (hub_dir / "maps" / "amazon-uk.yaml").write_text("AMZ-001: A\n'00123': B\n", encoding="utf-8")
    config = load_config(write(hub_dir, GOOD))

    assert config.base_dir == hub_dir.resolve()
    assert config.database_url == f"sqlite:///{hub_dir.resolve() / 'data' / 'hub.db'}"
    assert (config.sync.overlap_seconds, config.sync.max_attempts, config.sync.lease_seconds) == (120, 3, 120)
    assert (config.log.level, config.log.as_json) == ("debug", True)
    assert [(loc.code, loc.priority) for loc in config.locations] == [("main", 0), ("overflow", 5)]
    amazon = config.channel("amazon-uk")
    assert amazon.schedule.pull_seconds == 30 and amazon.schedule.push_seconds == 10
    assert amazon.buffers == BufferRules(percentage=80, max_listed=50, zero_below=2)
    assert amazon.settings == {"root": "drop/amazon"}
    assert amazon.connector_config.root == "drop/amazon"  # type: ignore[attr-defined]
    assert amazon.sku_map == {"AMZ-001": "A", "00123": "B"}  # SKUs stay strings: leading zeros kept
    assert config.channel("stockist").connector_config.model_dump() == {}
    assert config.connector_dirs[0] == hub_dir.resolve() / "connectors"


def test_stock_policies_cover_enabled_channels_that_push_stock(hub_dir: Path) -> None:
    (hub_dir / "maps").mkdir()
    (hub_dir / "maps" / "amazon-uk.yaml").write_text("{}\n", encoding="utf-8")
    [policy] = load_config(write(hub_dir, GOOD)).stock_policies()
    assert policy.channel == "amazon-uk"  # stockist cannot push stock; old-shop is disabled
    assert policy.locations == ("main",)
    assert policy.skus == frozenset({"A", "B"})
    assert policy.buffers.apply(100) == 50


def test_unknown_channel_name_is_a_config_error(hub_dir: Path) -> None:
    config = load_config(write(hub_dir, '[[channels]]\nname = "a"\nkind = "packaged"\n'))
    with pytest.raises(ConfigError, match=r"no channel named 'b' \(configured: a\)"):
        config.channel("b")


def test_top_level_problems_are_reported_together(hub_dir: Path) -> None:
    path = write(
        hub_dir,
        """
        conector_dirs = []
        [sync]
        backoff_base_seconds = 10.0
        backoff_cap_seconds = 1.0
        """,
    )
    assert sorted(problems_of(path)) == [
        f"{path}: conector_dirs: unknown key (did you mean 'connector_dirs'?)",
        f"{path}: sync: backoff_cap_seconds must not be below backoff_base_seconds",
    ]


def test_every_channel_problem_is_reported_at_once_naming_channel_and_key(hub_dir: Path) -> None:
    path = write(
        hub_dir,
        """
        [[locations]]
        code = "main"
        [[channels]]
        name = "amazon-uk"
        kind = "fileshop"
        locations = ["main", "nowhere"]
        [channels.settings]
        rot = "typo"
        [[channels]]
        name = "amazon-uk"
        kind = "shopifyy"
        [[channels]]
        kind = "packaged"
        [channels.schedule]
        pull_secondz = 5
        """,
    )
    problems = problems_of(path)
    assert problems[:4] == [
        f"{path}: channels[amazon-uk].locations: location 'nowhere' is not declared in [[locations]] (declared: main)",
        f"{path}: channels[amazon-uk].settings.root: field required",
        f"{path}: channels[amazon-uk].settings.rot: unknown key (did you mean 'root'?)",
        f"{path}: channels[amazon-uk]: duplicate channel name 'amazon-uk' (first defined as channels[0])",
    ]
    unknown = problems[4]
    assert unknown.startswith(f"{path}: channels[amazon-uk].kind: unknown kind 'shopifyy' (known kinds: ")
    assert "fileshop" in unknown and "packaged" in unknown
    assert problems[5:7] == [
        f"{path}: channels[2].name: field required",
        f"{path}: channels[2].schedule.pull_secondz: unknown key (did you mean 'pull_seconds'?)",
    ]


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'database = "sqlite:///x.db"\n\n[sync\noverlap_seconds = 1\n')
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: line 3: invalid TOML (")


def test_a_missing_file_and_missing_folders_are_named(tmp_path: Path) -> None:
    assert problems_of(tmp_path / "absent.toml") == [f"{tmp_path / 'absent.toml'}: file not found"]
    path = write(tmp_path, 'connector_dirs = ["plugins"]\nmapping_dirs = ["layouts"]\n')
    assert problems_of(path) == [
        f"{path}: connector_dirs[0]: folder {tmp_path.resolve() / 'plugins'} does not exist",
        f"{path}: mapping_dirs[0]: folder {tmp_path.resolve() / 'layouts'} does not exist",
    ]


def test_env_variables_expand_whole_and_embedded(hub_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_ROOT", "/srv/shop")
    monkeypatch.setenv("SHOP_TOKEN", "tok-123456")
    monkeypatch.setenv("HUB_DB", "sqlite:////srv/hub.db")
    path = write(
        hub_dir,
        """
        database = "${HUB_DB}"
        [[channels]]
        name = "shop"
        kind = "fileshop"
        [channels.settings]
        root = "${SHOP_ROOT}/in and $${LITERAL}"
        token = "${SHOP_TOKEN}"
        """,
    )
    config = load_config(path)
    settings = config.channel("shop").connector_config
    assert settings.root == "/srv/shop/in and ${LITERAL}"  # type: ignore[attr-defined]
    assert settings.token.get_secret_value() == "tok-123456"  # type: ignore[attr-defined]
    assert config.database_url == "sqlite:////srv/hub.db"
    assert config.channel("shop").settings["token"] == "${SHOP_TOKEN}"  # the raw table keeps the reference


def test_an_unset_variable_names_channel_key_and_variable(hub_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMAZON_TOKEN", raising=False)
    path = write(
        hub_dir,
        """
        [[channels]]
        name = "amazon-uk"
        kind = "fileshop"
        settings = { root = "x", token = "${AMAZON_TOKEN}" }
        """,
    )
    assert problems_of(path) == [
        f"{path}: channels[amazon-uk].settings.token: environment variable AMAZON_TOKEN is not set"
    ]


def test_file_secrets_are_read_relative_to_the_config(hub_dir: Path) -> None:
    (hub_dir / "secrets").mkdir()
    (hub_dir / "secrets" / "token").write_text("  file-token-987\n", encoding="utf-8")
    path = write(
        hub_dir,
        """
        [[channels]]
        name = "shop"
        kind = "fileshop"
        settings = { root = "x", token_file = "secrets/token" }
        [[channels]]
        name = "broken"
        kind = "fileshop"
        settings = { root = "x", token_file = "secrets/missing" }
        [[channels]]
        name = "both"
        kind = "fileshop"
        settings = { root = "x", token = "t", token_file = "secrets/token" }
        """,
    )
    problems = problems_of(path)
    missing = hub_dir.resolve() / "secrets" / "missing"
    assert problems == [
        f"{path}: channels[broken].settings.token_file: cannot read secret file {missing}: No such file or directory",
        f"{path}: channels[both].settings.token_file: set token or token_file, not both",
    ]
    path.write_text(path.read_text().split('[[channels]]\nname = "broken"')[0], encoding="utf-8")
    token = load_config(path).channel("shop").connector_config.token  # type: ignore[attr-defined]
    assert token.get_secret_value() == "file-token-987"


def test_a_bad_sku_map_is_named(hub_dir: Path) -> None:
    (hub_dir / "skus.yaml").write_text("A: B\n  bad: [indent\n", encoding="utf-8")
    path = write(hub_dir, '[[channels]]\nname = "s"\nkind = "packaged"\nsku_map_file = "skus.yaml"\n')
    [problem] = problems_of(path)
    assert problem.startswith(
        f"{path}: channels[s].sku_map_file: {hub_dir.resolve() / 'skus.yaml'}: line 2: invalid YAML"
    )


def test_check_startup_lists_problems_and_warns_of_plugins_no_channel_uses(hub_dir: Path) -> None:
    """What `config check` prints: exactly what `run` would refuse; a broken plugin nobody uses is a warning."""
    from channelhub.runtime import check_startup

    good = write(hub_dir, '[[channels]]\nname = "s"\nkind = "packaged"\n')
    assert check_startup(good) == ([], [])
    (hub_dir / "connectors" / "broken.py").write_text("import no_such_module_for_channelhub\n", encoding="utf-8")
    problems, [warning] = check_startup(good)
    assert problems == []
    assert warning.startswith(f"{good}: plugin {hub_dir / 'connectors' / 'broken.py'}: import failed: ModuleNotFound")
    bad = write(hub_dir, "[log]\nlevel = 'loud'\n", name="bad.toml")
    assert check_startup(bad) == (
        [f"{bad}: log.level: input should be 'debug', 'info', 'warning', 'error' or 'critical'"],
        [],
    )


def test_the_shipped_example_config_loads_and_so_does_its_sftp_channel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(EXAMPLE)
    assert [c.name for c in config.channels] == ["amazon-uk", "craft-market"]
    assert [p.channel for p in config.stock_policies()] == ["amazon-uk", "craft-market"]

    # Uncomment the SFTP channel: it must be valid as written once its password variable is set.
    text = EXAMPLE.read_text(encoding="utf-8")
    head, sftp = text.split("# [[channels]]", 1)
    sftp = "\n".join(line.removeprefix("# ") for line in ("# [[channels]]" + sftp).splitlines())
    path = write(tmp_path, head + sftp)
    monkeypatch.delenv("AMAZON_SFTP_PASSWORD", raising=False)
    assert problems_of(path) == [
        f"{path}: channels[amazon-de].settings.password: environment variable AMAZON_SFTP_PASSWORD is not set"
    ]
    monkeypatch.setenv("AMAZON_SFTP_PASSWORD", "example-password")
    amazon_de = load_config(path).channel("amazon-de")
    assert amazon_de.connector_config.password.get_secret_value() == "example-password"  # type: ignore[attr-defined]


def test_the_shop_country_is_an_iso_code_and_off_by_default(hub_dir: Path) -> None:
    assert load_config(write(hub_dir, "")).shop.country is None
    assert load_config(write(hub_dir, '[shop]\ncountry = "de"\n')).shop.country == "DE"
    path = write(hub_dir, '[shop]\ncountry = "XX"\n')
    [problem] = problems_of(path)
    assert problem.startswith(f"{path}: shop.country:") and "unknown ISO 3166-1 alpha-2 country code: 'XX'" in problem
