"""Wiring: config -> database -> plugin registry -> connector instances -> stock policies.

`Hub.open(config_path)` is the one place a running hub is assembled, for the daemon, the CLI and the demo alike.
It refuses a broken config (ConfigError, exit code 2 in the CLI), reports plugin problems as warnings without
letting one bad plugin stop the rest, and builds a connector per enabled channel. A channel whose connector cannot
be built, or that later raises Fatal, is *stopped*: its reason is recorded in `channel_state` and shown by
`channelhub status`; every other channel goes on.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from channelhub.config import HubConfig, load_config
from channelhub.errors import ChannelhubError, ConfigError
from channelhub.logs import get_logger
from channelhub.plugins import Registry
from channelhub.ports import Capability, Connector, ConnectorContext
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database, open_database
from channelhub.store.locks import try_exclusive
from channelhub.store.tables import ChannelStateRow
from channelhub.sync.dispatch import Dispatcher, DispatchReport
from channelhub.sync.reconcile import ReconcileReport, reconcile
from channelhub.sync.retry import RetryPolicy

if TYPE_CHECKING:
    from channelhub.sync.pull import PullReport

log = get_logger("channelhub.runtime")

DEFAULT_CONFIG = "channelhub.toml"
CONFIG_ENV = "CHANNELHUB_CONFIG"


def default_config_path() -> Path:
    """$CHANNELHUB_CONFIG if set, else ./channelhub.toml."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


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
    def open(cls, config_path: str | Path, *, connect: bool = True, migrate: bool = True) -> Hub:
        """Load the config, open (and migrate) the database, discover plugins and build the connectors.

        `connect=False` skips building connectors (for read-only commands that only need the database).
        Raises ConfigError for a broken config; never raises for a single bad plugin or channel.
        """
        path = Path(config_path)
        if not path.is_file():
            raise ConfigError("config file not found (pass --config or set $CHANNELHUB_CONFIG)", where=str(path))
        config = load_config(path)  # discovers plugins: entry points, connectors/ beside it, connector_dirs
        registry = config.registry
        for problem in registry.problems:
            log.warning("plugin not loaded", source=problem.source, reason=problem.reason)
        db = open_database(config.database_url, migrate=migrate)
        hub = cls(config=config, config_path=path, db=db, registry=registry)
        hub.policies = list(config.stock_policies())
        for channel in config.channels:
            hub.channels[channel.name] = ChannelRuntime(
                name=channel.name, kind=channel.kind, enabled=channel.enabled, settings=channel
            )
        if connect:
            for runtime in hub.channels.values():
                if runtime.enabled:
                    hub._build(runtime)
        return hub

    def _build(self, runtime: ChannelRuntime) -> None:
        context = ConnectorContext(
            channel=runtime.name,
            base_dir=self.config.base_dir,
            mapping_dirs=tuple(self.config.mapping_dirs),
            sku_map=runtime.settings.sku_map,
        )
        try:
            runtime.connector = self.registry.create(runtime.kind, runtime.settings.connector_config, context)
        except ConfigError:
            raise
        except (ChannelhubError, Exception) as exc:  # one broken channel must not stop the others
            runtime.stopped_reason = f"cannot start: {exc}"
            log.error("channel not started", channel=runtime.name, kind=runtime.kind, error=str(exc))

    def close(self) -> None:
        for runtime in self.channels.values():
            if runtime.connector is not None:
                try:
                    runtime.connector.close()
                except Exception as exc:  # closing must not hide the reason we are stopping
                    log.warning("connector close failed", channel=runtime.name, error=str(exc))
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
        try:
            return self.channels[name]
        except KeyError:
            known = ", ".join(sorted(self.channels)) or "none"
            raise ConfigError(f"no channel named {name!r} (configured: {known})", where=str(self.config_path)) from None

    def stop_channel(self, name: str, reason: str) -> None:
        """Stop a channel after a Fatal error: its jobs stop, the reason is stored for `channelhub status`."""
        runtime = self.channels[name]
        runtime.stopped_reason = reason
        log.error("channel stopped", channel=name, reason=reason)
        with self.db.transaction() as session:
            state = session.get(ChannelStateRow, name) or ChannelStateRow(channel=name)
            state.stopped_reason = reason
            state.last_error = reason
            session.add(state)

    def resume_channels(self) -> None:
        """Forget stopped reasons of earlier runs: a restart is how an operator says "try again after the fix".

        Channels that could not be built in this run keep (and record) their reason.
        """
        from channelhub.sync.pull import resume_channel

        for runtime in self.channels.values():
            if runtime.stopped_reason:
                with self.db.transaction() as session:
                    state = session.get(ChannelStateRow, runtime.name) or ChannelStateRow(channel=runtime.name)
                    state.stopped_reason = runtime.stopped_reason
                    session.add(state)
            elif runtime.enabled:
                resume_channel(self.db, runtime.name)

    # --- work -----------------------------------------------------------------------------------------------

    def pull(self, name: str, *, progress: Callable[[PullReport], None] | None = None) -> PullReport | None:
        """One pull of channel `name` (None when the channel does not pull, is not running, or another daemon
        is pulling it right now: see `channelhub.store.locks`).

        run_pull records the attempt in channel_state; a Fatal error there stops the channel here too.
        """
        from channelhub.sync.pull import run_pull

        runtime = self.channel(name)
        if runtime.connector is None or not runtime.can(Capability.PULL_ORDERS):
            return None
        overlap = timedelta(seconds=self.config.sync.overlap_seconds)
        with try_exclusive(self.db, f"pull:{name}") as mine:
            if not mine:
                log.info("another worker is pulling this channel; skipped", channel=name)
                return None
            report = run_pull(self.db, runtime.connector, policies=self.policies, overlap=overlap, progress=progress)
        if report.stopped:
            runtime.stopped_reason = report.error
            log.error("channel stopped", channel=name, reason=report.error)
        elif report.error:
            log.warning("pull ended early", channel=name, error=report.error)
        return report

    def reconcile(self, name: str, *, heal: bool | None = None) -> ReconcileReport | None:
        """Compare channel `name`'s listed stock with the hub's (None when it cannot read stock back or is not
        running). `heal` defaults to the channel's `reconcile = "heal"` setting."""
        runtime = self.channel(name)
        if runtime.connector is None or not runtime.can(Capability.PULL_STOCK):
            return None
        policy = next((p for p in self.policies if p.channel == name), ChannelStockPolicy(name))
        if heal is None:
            heal = runtime.settings.reconcile == "heal"
        return reconcile(self.db, runtime.connector, policy, heal=heal)

    def dispatcher(self) -> Dispatcher:
        """A dispatcher over every running channel, with the retry policy and lease from [sync]."""
        return Dispatcher(
            self.db,
            self.connectors(),
            worker_id=self.worker_id,
            retry=retry_policy(self.config),
            lease=timedelta(seconds=self.config.sync.lease_seconds),
        )

    def dispatch(self) -> DispatchReport:
        """Send what is due in the outbox, once. A channel whose write raised Fatal is stopped (and recorded)."""
        report = self.dispatcher().run_once()
        for channel, reason in report.stopped.items():
            if channel in self.channels:
                self.stop_channel(channel, reason)
        return report

    def stopped_in_db(self) -> dict[str, str]:
        with self.db.transaction() as session:
            rows = session.execute(select(ChannelStateRow.channel, ChannelStateRow.stopped_reason)).all()
        return {channel: reason for channel, reason in rows if reason}


def retry_policy(config: HubConfig) -> RetryPolicy:
    """The dispatcher's retry policy from [sync]: max attempts and the capped exponential backoff."""
    sync = config.sync
    return RetryPolicy(max_attempts=sync.max_attempts, base=sync.backoff_base_seconds, cap=sync.backoff_cap_seconds)
