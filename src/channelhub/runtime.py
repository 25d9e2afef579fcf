"""Wiring: config -> database -> plugin registry -> connector instances -> stock policies. Assembly only: the use
cases that run on a hub are `channelhub.services`.

`Hub.open(config_path)` is the one place a running hub is assembled, for the daemon, the CLI and the demo alike.
It refuses a broken config (ConfigError, exit code 2 in the CLI) and an unreachable database
(DatabaseUnavailable, exit 2), reports plugin problems that no channel depends on as warnings, and registers the
config's secrets with the one redactor (`channelhub.redact`). With `connect=True` it builds a connector per
enabled channel and asks each for its `preflight()` problems: a channel that cannot be built, or whose first
job would fail for a reason known now (a missing local folder), refuses the start with every problem named;
`check_startup` finds exactly the same problems for `channelhub config check`. A channel that fails later, at
run time (Fatal), is *stopped*: its reason is recorded in `channel_state` and shown by `channelhub status`;
every other channel goes on.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from channelhub.config import HubConfig, InvalidConfig, load_config
from channelhub.errors import ChannelhubError, ConfigError
from channelhub.logs import get_logger
from channelhub.plugins import Registry
from channelhub.ports import Capability, Connector, ConnectorContext
from channelhub.redact import register_secrets, scrub
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database, open_database
from channelhub.store.db import check_reachable
from channelhub.sync.ingest import IngestRules
from channelhub.sync.retry import RetryPolicy

log = get_logger("channelhub.runtime")


@dataclass
class ChannelRuntime:
    """One configured channel as the runtime sees it: its connector (None when not built) and whether it runs."""

    name: str
    kind: str
    enabled: bool
    settings: Any  # the channel's config entry (channelhub.config.ChannelConfig)
    connector: Connector | None = None
    stopped_reason: str = ""

    @property
    def active(self) -> bool:
        return self.enabled and self.connector is not None and not self.stopped_reason

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.connector.capabilities if self.connector is not None else frozenset()

    def can(self, capability: Capability) -> bool:
        return self.active and capability in self.capabilities

    @property
    def declares(self) -> frozenset[Capability]:
        """What the channel's connector class declares, built or not (for commands that do not connect)."""
        return self.settings.capabilities if self.enabled else frozenset()


@dataclass
class Hub:
    config: HubConfig
    config_path: Path
    db: Database
    registry: Registry
    channels: dict[str, ChannelRuntime] = field(default_factory=dict)
    policies: list[ChannelStockPolicy] = field(default_factory=list)
    worker_id: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    # --- assembly -------------------------------------------------------------------------------------------

    @classmethod
    def open(cls, config_path: str | Path, *, connect: bool = False, migrate: bool = True) -> Hub:
        """Load the config, open (and migrate) the database, discover plugins; with `connect`, build and check
        the connectors (see the module docstring). Raises ConfigError or DatabaseUnavailable."""
        return cls.assemble(read_config(config_path), config_path, connect=connect, migrate=migrate)

    @classmethod
    def assemble(cls, config: HubConfig, config_path: str | Path, *, connect: bool, migrate: bool) -> Hub:
        """`open` for a config already read."""
        db = open_database(config.database_url, migrate=migrate)
        hub = cls(config=config, config_path=Path(config_path), db=db, registry=config.registry)
        hub.policies = list(config.stock_policies())
        for channel in config.channels:
            hub.channels[channel.name] = ChannelRuntime(
                name=channel.name, kind=channel.kind, enabled=channel.enabled, settings=channel
            )
        if connect:
            problems = [found for rt in hub.channels.values() if rt.enabled for found in hub._build(rt)]
            if problems:
                hub.close()
                raise InvalidConfig(problems, where=str(config_path))
        return hub

    def _build(self, runtime: ChannelRuntime) -> list[str]:
        """Build the channel's connector and ask for its preflight problems; return them (each naming the
        config file and the channel)."""
        where = f"{self.config_path}: channels[{runtime.name}]"
        context = ConnectorContext(
            channel=runtime.name,
            base_dir=self.config.base_dir,
            mapping_dirs=tuple(self.config.mapping_dirs),
            sku_map=runtime.settings.sku_map,
        )
        try:
            runtime.connector = self.registry.create(runtime.kind, runtime.settings.connector_config, context)
            problems = list(runtime.connector.preflight())
        except (ChannelhubError, Exception) as exc:  # a broken plugin must not crash the start with a traceback
            return [f"{where}: cannot start: {scrub(str(exc))}"]
        return [f"{where}: {scrub(problem)}" for problem in problems]

    def close(self) -> None:
        for runtime in self.channels.values():
            if runtime.connector is not None:
                try:
                    runtime.connector.close()
                except Exception as exc:  # closing must not hide the reason we are stopping
                    log.warning("connector close failed", channel=runtime.name, error=scrub(str(exc)))
        self.db.dispose()

    def __enter__(self) -> Hub:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- channels -------------------------------------------------------------------------------------------

    def active(self, capability: Capability | None = None) -> list[ChannelRuntime]:
        return [
            rt for rt in self.channels.values() if rt.active and (capability is None or capability in rt.capabilities)
        ]

    def connectors(self) -> dict[str, Connector]:
        """The connectors of every channel still running, by channel name."""
        return {rt.name: rt.connector for rt in self.active() if rt.connector is not None}

    def channel(self, name: str) -> ChannelRuntime:
        """The channel called `name`; ConfigError (exit 2) naming the configured ones when there is none."""
        try:
            return self.channels[name]
        except KeyError:
            known = ", ".join(sorted(self.channels)) or "none"
            raise ConfigError(f"no channel named {name!r} (configured: {known})", where=str(self.config_path)) from None

    def rules(self, name: str) -> IngestRules:
        """The channel's rules for what may be applied."""
        settings = self.channel(name).settings
        return IngestRules(
            max_line_quantity=settings.max_line_quantity,
            unmapped_lines=settings.unmapped_lines,
            ship_before_payment=frozenset(settings.ship_before_payment),
        )

    def policy(self, name: str) -> ChannelStockPolicy:
        return next((p for p in self.policies if p.channel == name), ChannelStockPolicy(name))

    @property
    def retry(self) -> RetryPolicy:
        """The dispatcher's retry policy from [sync]: max attempts and the capped exponential backoff."""
        sync = self.config.sync
        return RetryPolicy(max_attempts=sync.max_attempts, base=sync.backoff_base_seconds, cap=sync.backoff_cap_seconds)

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.config.sync.lease_seconds)

    @property
    def overlap(self) -> timedelta:
        return timedelta(seconds=self.config.sync.overlap_seconds)


def read_config(config_path: str | Path) -> HubConfig:
    """Load and validate the config (ConfigError naming every problem) and register its secrets with the
    redactor before anything else can print them."""
    path = Path(config_path)
    if not path.is_file():
        raise ConfigError("config file not found (pass --config or set $CHANNELHUB_CONFIG)", where=str(path))
    config = load_config(path)  # discovers plugins: entry points, connectors/ beside it, connector_dirs
    register_secrets(config.secret_values())
    return config


def check_startup(config_path: str | Path) -> tuple[list[str], list[str]]:
    """(problems, warnings) `channelhub run` would meet starting with this config, without starting it:
    config errors, a database that cannot be opened, channels that cannot be built or fail their preflight.
    A plugin that fails to load but that no channel uses is a warning: run starts without it."""
    try:
        config = read_config(config_path)
    except InvalidConfig as exc:
        return list(exc.problems), []
    except ConfigError as exc:
        return [str(exc)], []
    warnings = [f"{config_path}: plugin {problem} (no channel uses it)" for problem in config.registry.problems]
    problem = check_reachable(config.database_url)
    if problem:
        return [problem], warnings
    try:
        hub = Hub.assemble(config, config_path, connect=True, migrate=False)
    except InvalidConfig as exc:
        return list(exc.problems), warnings
    except ChannelhubError as exc:
        return [str(exc)], warnings
    hub.close()
    return [], warnings
