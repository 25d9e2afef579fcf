"""Reading `channelhub.toml`: parse, expand, validate against the connectors, and report every problem at once."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from pydantic import ValidationError

from channelhub.config.models import ChannelConfig, ConfigFile, HttpSettings, HubConfig, InvalidConfig
from channelhub.config.problems import Problems, labels_of, toml_problem
from channelhub.config.secrets import expand_document, resolve_settings
from channelhub.plugins import Registry, discover
from channelhub.redact import redact_url

SUPPORTED_DATABASES = ("sqlite", "postgresql")
_SQLITE_URL = re.compile(r"^(sqlite(?:\+\w+)?:///)([^?]*)(\?.*)?$")


def load_config(path: Path, *, registry: Registry | None = None) -> HubConfig:
    """Read, expand and validate `path`. Raises InvalidConfig (a ConfigError) listing every problem found.

    Without a `registry`, connectors are discovered from the entry points, `connectors/` beside the config and
    each `connector_dirs` folder, in that order.
    """
    path = Path(path)
    problems = Problems(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidConfig([f"{path}: file not found"], where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfig([f"{path}: cannot read ({exc})"], where=str(path)) from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidConfig([toml_problem(str(path), exc)], where=str(path)) from None

    base_dir = path.resolve().parent
    http = document.pop("http", None)  # expanded with its `token_file` below, like a channel's settings
    expanded = expand_document(document, problems)
    if isinstance(http, dict):
        expanded["http"] = resolve_settings(http, HttpSettings, "http", base_dir, problems)
    elif http is not None:
        expanded["http"] = http  # not a table: the validation below says so
    try:
        top = ConfigFile.model_validate(expanded)
    except ValidationError as exc:
        problems.add_validation(exc, "", ConfigFile, labels_of(document))
        raise InvalidConfig(problems.items, where=str(path)) from None

    connector_dirs = _folders(top.connector_dirs, base_dir, "connector_dirs", problems)
    implicit = base_dir / "connectors"
    search = [implicit, *[d for d in connector_dirs if d != implicit]]
    if registry is None:
        registry = discover(search)
    mapping_dirs = _folders(top.mapping_dirs, base_dir, "mapping_dirs", problems, default="mappings")
    mapping_dirs.extend(_builtin_mapping_dirs())
    database_url = _database_url(top.database, base_dir, problems)
    channels = _build_channels(top, labels_of(document).get("channels", []), base_dir, registry, problems)

    if problems.items:
        raise InvalidConfig(problems.items, where=str(path))
    config = HubConfig(
        path=path.resolve(),
        base_dir=base_dir,
        database_url=database_url,
        connector_dirs=tuple(search),
        mapping_dirs=tuple(mapping_dirs),
        sync=top.sync,
        log=top.log,
        http=top.http,
        shop=top.shop,
        locations=tuple(top.locations),
        channels=tuple(channels),
    )
    config._registry = registry
    config._secrets = frozenset(problems.secrets)
    return config


def _build_channels(
    top: ConfigFile, labels: list[str], base_dir: Path, registry: Registry, problems: Problems
) -> list[ChannelConfig]:
    declared: list[str] = []
    for location in top.locations:
        if location.code in declared:
            problems.add(f"locations[{location.code}]", "duplicate location code")
        declared.append(location.code)
    channels: list[ChannelConfig] = []
    first_seen: dict[str, int] = {}
    unknown_kinds = 0
    for i, raw in enumerate(top.channels):
        label = f"channels[{labels[i] if i < len(labels) else i}]"
        name = raw.get("name")
        if isinstance(name, str) and name in first_seen:
            problems.add(label, f"duplicate channel name {name!r} (first defined as channels[{first_seen[name]}])")
        elif isinstance(name, str):
            first_seen[name] = i
        try:
            channel: ChannelConfig | None = ChannelConfig.model_validate(raw)
        except ValidationError as exc:
            problems.add_validation(exc, label, ChannelConfig)
            channel = None
        # The checks below run on the raw table too, so one typo does not hide the channel's other problems.
        codes = raw.get("locations")
        for code in codes if isinstance(codes, list) else ():
            if isinstance(code, str) and code not in declared:
                known = ", ".join(declared) or "none"
                problems.add(
                    f"{label}.locations", f"location {code!r} is not declared in [[locations]] (declared: {known})"
                )
        sku_map_file = raw.get("sku_map_file")
        sku_map = (
            _load_sku_map(sku_map_file, base_dir, f"{label}.sku_map_file", problems)
            if isinstance(sku_map_file, str)
            else {}
        )
        kind, settings = raw.get("kind"), raw.get("settings", {})
        if not isinstance(kind, str) or not isinstance(settings, dict):
            continue
        cls = registry.get(kind)
        if cls is None:
            known = ", ".join(sorted(registry.kinds)) or "none"
            failed = f"; {len(registry.problems)} plugin(s) failed to load" if registry.problems else ""
            problems.add(f"{label}.kind", f"unknown kind {kind!r} (known kinds: {known}{failed})")
            unknown_kinds += 1
            continue
        resolved = resolve_settings(settings, cls.config_model, f"{label}.settings", base_dir, problems)
        try:
            connector_config = cls.config_model.model_validate(resolved)
        except ValidationError as exc:
            problems.add_validation(exc, f"{label}.settings", cls.config_model)
            continue
        if channel is not None:
            channel._connector_class = cls
            channel._connector_config = connector_config
            channel._sku_map = sku_map
            channels.append(channel)
    if unknown_kinds:
        for problem in registry.problems:
            problems.add("plugin", str(problem))
    return channels


def _load_sku_map(name: str, base_dir: Path, where: str, problems: Problems) -> dict[str, str]:
    """A YAML mapping of channel SKU -> hub SKU. Read with every scalar a string, so `00123` keeps its zeros."""
    path = (base_dir / Path(name).expanduser()).resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(where, f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}")
        return {}
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problems.add(where, f"{path}: {line}invalid YAML ({getattr(exc, 'problem', None) or exc})")
        return {}
    if data is None or data == "":
        return {}
    if not isinstance(data, dict):
        problems.add(where, f"{path}: must be a mapping of channel SKU to hub SKU")
        return {}
    sku_map: dict[str, str] = {}
    for channel_sku, hub_sku in data.items():
        if not isinstance(hub_sku, str) or not hub_sku or not channel_sku:
            problems.add(where, f"{path}: {channel_sku!r} must map to one hub SKU")
            continue
        sku_map[channel_sku] = hub_sku
    return sku_map


def _folders(
    names: list[str] | None, base_dir: Path, key: str, problems: Problems, *, default: str | None = None
) -> list[Path]:
    if names is None:
        implicit = base_dir / default if default else None
        return [implicit] if implicit is not None and implicit.is_dir() else []
    folders = []
    for i, name in enumerate(names):
        folder = (base_dir / Path(name).expanduser()).resolve()
        if not folder.is_dir():
            problems.add(f"{key}[{i}]", f"folder {folder} does not exist")
        elif folder not in folders:
            folders.append(folder)
    return folders


def _builtin_mapping_dirs() -> list[Path]:
    try:
        import channelhub_mappings
    except ImportError:  # pragma: no cover - shipped with the hub
        return []
    return [Path(channelhub_mappings.__file__).parent]


def _database_url(url: str, base_dir: Path, problems: Problems) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    match = _SQLITE_URL.match(url)
    if match and match.group(2) and not match.group(2).startswith("/") and match.group(2) != ":memory:":
        url = f"{match.group(1)}{(base_dir / match.group(2)).resolve()}{match.group(3) or ''}"
    try:
        parsed = make_url(url)
    except ArgumentError:
        problems.add("database", f"not a database URL: {redact_url(url)!r}")
        return url
    if parsed.password:
        problems.secrets.add(str(parsed.password))
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_DATABASES:
        problems.add(
            "database",
            f"{backend}:// is not supported: the hub runs on {' or '.join(SUPPORTED_DATABASES)} "
            f"(sqlite:///channelhub.db, postgresql://user@host/db), not {redact_url(url)!r}",
        )
    return url
