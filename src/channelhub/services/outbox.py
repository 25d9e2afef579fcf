"""Outbox use cases: put dead writes back in the queue."""

from __future__ import annotations

from collections.abc import Sequence

from channelhub.runtime import Hub
from channelhub.sync.outbox import revive_dead


def retry_dead(hub: Hub, ids: Sequence[int] | None = None) -> list[int]:
    """Dead writes (all, or `ids`) pending again, due now, attempts reset; returns the ids revived."""
    with hub.db.transaction() as session:
        return revive_dead(session, ids)
