"""Channel use cases: pull, webhook records, dispatch, reconcile, stop and resume."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from channelhub.errors import ChannelhubError
from channelhub.logs import get_logger
from channelhub.ports import Capability, Connector, RawRecord
from channelhub.redact import scrub
from channelhub.runtime import Hub
from channelhub.services.stock import declare_locations
from channelhub.store.locks import try_exclusive
from channelhub.sync.dispatch import Dispatcher, DispatchReport
from channelhub.sync.ingest import IngestReport, ingest_records
from channelhub.sync.pull import PullReport, resume_channel, run_pull, set_channel_state
from channelhub.sync.pull import stopped_reason as stored_stopped_reason
from channelhub.sync.reconcile import ReconcileReport, reconcile
from channelhub.sync.wake import Waker as Waker
from channelhub.sync.wake import wake_on_enqueue

log = get_logger("channelhub.services")

StopCheck = Callable[[], bool]


def pull_channel(
    hub: Hub,
    name: str,
    *,
    progress: Callable[[PullReport], None] | None = None,
    should_stop: StopCheck | None = None,
) -> PullReport | None:
    """One pull of channel `name` (None when the channel does not pull, is not running, or another daemon is
    pulling it right now: see `channelhub.store.locks`). Each page is its own transaction (a crash keeps every
    committed page). A Fatal error stops the channel (recorded for `channelhub status`)."""
    runtime = hub.channel(name)
    if runtime.connector is None or not runtime.can(Capability.PULL_ORDERS):
        return None
    with try_exclusive(hub.db, f"pull:{name}") as mine:
        if not mine:
            log.info("another worker is pulling this channel; skipped", channel=name)
            return None
        report = run_pull(
            hub.db, runtime.connector, policies=hub.policies, overlap=hub.overlap, rules=hub.rules(name),
            progress=progress, should_stop=should_stop,
        )  # fmt: skip
    if report.stopped:
        runtime.stopped_reason = report.error
        log.error("channel stopped", channel=name, reason=report.error)
    elif report.error:
        log.warning("pull ended early", channel=name, error=report.error)
    return report


def apply_records(
    hub: Hub, name: str, records: Sequence[RawRecord], *, source: str = "webhook", now: datetime | None = None
) -> IngestReport:
    """Records a channel delivered (webhook deliveries): the same inbox, map and apply path as polling, in one
    transaction, deduplicated by delivery id and body."""
    connector = running_connector(hub, name)
    at = now if now is not None else datetime.now(UTC)
    report = IngestReport(channel=name)
    with hub.db.transaction() as session:
        ingest_records(
            session, connector, records, rules=hub.rules(name), policies=hub.policies, source=f"{name}:{source}",
            now=at, report=report,
        )  # fmt: skip
    return report


def running_connector(hub: Hub, name: str) -> Connector:
    """The connector of channel `name`; ChannelhubError saying why when the channel is not running."""
    runtime = hub.channel(name)
    if runtime.connector is None or runtime.stopped_reason:
        reason = runtime.stopped_reason or ("disabled in the config" if not runtime.enabled else "not connected")
        raise ChannelhubError(f"channel {name} is not running: {reason}")
    return runtime.connector


def dispatch(hub: Hub, *, should_stop: StopCheck | None = None, now: datetime | None = None) -> DispatchReport:
    """Send what is due in the outbox, once, for every running channel. A channel whose write raised Fatal is
    stopped (and recorded)."""
    dispatcher = Dispatcher(hub.db, hub.connectors(), worker_id=hub.worker_id, retry=hub.retry, lease=hub.lease)
    report = dispatcher.run_once(now, should_stop=should_stop)
    for channel, reason in report.stopped.items():
        if channel in hub.channels:
            stop_channel(hub, channel, reason)
    return report


def dispatch_waker(hub: Hub) -> Waker:
    """A Waker for a dispatch loop: notified after each commit that enqueued outbound writes (in this process;
    on PostgreSQL in any daemon, by LISTEN/NOTIFY), its wait ending `[sync] wake_window_seconds` after the
    first. Close it when done (that stops its PostgreSQL listener)."""
    return wake_on_enqueue(hub.db, window=hub.config.sync.wake_window_seconds)


def reconcile_channel(hub: Hub, name: str, *, heal: bool | None = None) -> ReconcileReport | None:
    """Compare channel `name`'s listed stock with the hub's (None when it cannot read stock back or is not
    running). `heal` defaults to the channel's `reconcile = "heal"` setting."""
    runtime = hub.channel(name)
    if runtime.connector is None or not runtime.can(Capability.PULL_STOCK):
        return None
    if heal is None:
        heal = runtime.settings.reconcile == "heal"
    return reconcile(hub.db, runtime.connector, hub.policy(name), heal=heal)


def stop_channel(hub: Hub, name: str, reason: str) -> None:
    """Stop a channel after a Fatal error: its jobs stop, the reason is stored for `channelhub status`."""
    reason = scrub(reason)
    hub.channels[name].stopped_reason = reason
    log.error("channel stopped", channel=name, reason=reason)
    with hub.db.transaction() as session:
        set_channel_state(session, name, stopped_reason=reason, last_error=reason)


def start(hub: Hub) -> None:
    """What a daemon (or a one-off sync) does before its first job: warn of plugins that did not load (no channel
    uses them, or the start was refused), write the config's locations to the ledger and resume the channels
    stopped by an earlier run."""
    for problem in hub.registry.problems:
        log.warning("plugin not loaded", source=problem.source, reason=problem.reason)
    with hub.db.transaction() as session:
        declare_locations(hub, session)
    resume_channels(hub)


def resume_one_channel(hub: Hub, name: str) -> str:
    """Resume channel `name` after an operator fixed the cause of its stop (the dashboard's Resume button):
    its stopped reason is cleared in this process and in the database, so its jobs run again. Returns the
    reason it was stopped for ("" when it was running); ChannelhubError when it cannot run in this process
    (disabled in the config, or its connector was not built), ConfigError for a channel the config lacks."""
    runtime = hub.channel(name)
    if not runtime.enabled:
        raise ChannelhubError(f"channel {name} is disabled in the config: enable it and restart")
    if runtime.connector is None:
        raise ChannelhubError(f"channel {name} is not connected in this process: restart the hub")
    was = runtime.stopped_reason or stored_stopped_reason(hub.db, name)
    runtime.stopped_reason = ""
    resume_channel(hub.db, name)
    if was:
        log.info("channel resumed", channel=name, was=was)
    return was


def resume_channels(hub: Hub) -> None:
    """Forget stopped reasons of earlier runs: a restart is how an operator says "try again after the fix".
    Channels that could not be built in this run keep (and record) their reason."""
    for runtime in hub.channels.values():
        if runtime.stopped_reason:
            with hub.db.transaction() as session:
                set_channel_state(session, runtime.name, stopped_reason=runtime.stopped_reason)
        elif runtime.enabled:
            resume_channel(hub.db, runtime.name)
