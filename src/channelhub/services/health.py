"""Readiness: can this process do its work now? Behind the HTTP app's /readyz (and anything else that asks).

Ready means the database answers and, where this process runs the scheduler, the scheduler runs. Each
channel's state is reported beside (running, stopped with the reason, disabled) but a stopped channel does not
make the hub unready: the other channels go on, and restarting the process is not the fix a load balancer or
systemd would be asking for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from channelhub.logs import get_logger
from channelhub.redact import redact_url, scrub
from channelhub.runtime import Hub
from channelhub.services.views import channel_statuses

log = get_logger("channelhub.health")


@dataclass(frozen=True)
class ChannelHealth:
    name: str
    state: str  # "running" | "stopped" | "disabled"
    reason: str = ""


@dataclass(frozen=True)
class Readiness:
    database: str  # "" when it answers, else why not (password masked)
    scheduler: str  # "running" | "stopped" | "not run by this process"
    channels: list[ChannelHealth] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.database and self.scheduler != "stopped"

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "database": {"ok": not self.database, "error": self.database},
            "scheduler": self.scheduler,
            "channels": {c.name: {"state": c.state, "reason": c.reason} for c in self.channels},
        }


def database_problem(hub: Hub) -> str:
    """Why the hub's database does not answer ("" when it does): a `SELECT 1` on a pooled connection, taken
    raw so SQLite's immediate-transaction hook does not queue it behind a writer. A SQLite file that was
    removed is reported as such (a connection opened earlier would still answer from the deleted file)."""
    url = hub.db.engine.url
    file = url.database if url.get_backend_name() == "sqlite" and url.database != ":memory:" else None
    if file and not Path(file).is_file():
        return f"the database file {url.database} is gone"
    try:
        connection = hub.db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            cursor.close()
        finally:
            connection.close()
    except Exception as exc:  # any driver's error: the answer is "not ready"
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return scrub(f"the database {redact_url(str(url))} does not answer: {reason[0] if reason else exc}")
    return ""


def channel_health(hub: Hub, *, database_ok: bool) -> list[ChannelHealth]:
    """Each configured channel's state: from the database when it answers (a stop recorded by a daemon in
    another process shows too), else from what this process knows."""
    if database_ok:
        try:
            return [
                ChannelHealth(status.name, _state(status.enabled, status.stopped_reason), status.stopped_reason)
                for status in channel_statuses(hub)
            ]
        except SQLAlchemyError as exc:
            log.warning("channel states unreadable", error=scrub(str(exc).splitlines()[0]))
    out = []
    for runtime in hub.channels.values():
        reason = runtime.stopped_reason or ("" if runtime.enabled else "disabled in config")
        out.append(ChannelHealth(runtime.name, _state(runtime.enabled, reason), reason))
    return out


def _state(enabled: bool, stopped_reason: str) -> str:
    if not enabled:
        return "disabled"
    return "stopped" if stopped_reason else "running"


def readiness(hub: Hub, scheduler_running: Callable[[], bool] | None = None) -> Readiness:
    """The hub's readiness; `scheduler_running` is None where this process runs no scheduler (`serve`)."""
    problem = database_problem(hub)
    if scheduler_running is None:
        scheduler = "not run by this process"
    else:
        scheduler = "running" if scheduler_running() else "stopped"
    return Readiness(database=problem, scheduler=scheduler, channels=channel_health(hub, database_ok=not problem))
