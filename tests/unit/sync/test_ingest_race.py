"""Two daemons on PostgreSQL insert the same new order at once (one's pull, the other's webhook applier): the later
is refused by the unique (channel, external_id), applies its slice one by one, finds the row and updates it. One
order, nothing quarantined, and no warning: it is a race, not a refusal (found by bench/propagation.py)."""

from __future__ import annotations

import io
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sync_helpers import POLICIES, count, stock

from channelhub.logs import configure_logging
from channelhub.store import Database
from channelhub.store.db import open_database
from channelhub.store.tables import OrderRow
from channelhub.sync.ingest import IngestReport, IngestRules, Verdict, apply_guarded
from channelhub.testing.fakes import BASE_TIME, make_order

WAIT = 60.0

pytestmark = pytest.mark.postgres
WAITING_ON_A_LOCK = text(
    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
)


def test_an_order_inserted_by_another_daemon_meanwhile_is_updated_not_refused(pg_database: Database) -> None:
    stock(pg_database, {"SKU-1": 10})
    other = open_database(pg_database.engine.url.render_as_string(hide_password=False), migrate=False)
    order = make_order("RACE-1")
    newer = order.model_copy(update={"updated_at": order.updated_at + timedelta(minutes=1)})
    first_inserted, second_blocked = threading.Event(), threading.Event()
    out = io.StringIO()
    configure_logging(level="INFO", stream=out)
    reports: dict[str, IngestReport] = {}

    def apply(db: Database, name: str, which: object, before_commit: threading.Event | None) -> None:
        report = reports[name] = IngestReport(channel="shop")
        with db.transaction() as session:
            verdict = Verdict(source=f"{name} record")
            apply_guarded(session, [(which, verdict)], source=f"shop:{name}", policies=POLICIES,
                          now=BASE_TIME + timedelta(days=1), report=report, rules=IngestRules())  # fmt: skip
            if before_commit is not None:
                first_inserted.set()
                assert before_commit.wait(WAIT)

    try:
        pull = threading.Thread(target=apply, args=(pg_database, "pull", order, second_blocked))
        pull.start()
        assert first_inserted.wait(WAIT)
        webhook = threading.Thread(target=apply, args=(other, "webhook", newer, None))
        webhook.start()
        with other.engine.connect() as probe:  # the webhook's insert waits on the pull's uncommitted row
            pause = threading.Event()  # a bounded poll of the server, not a sleep on time
            for _ in range(int(WAIT * 20)):
                waiting = probe.execute(WAITING_ON_A_LOCK).scalar()
                if waiting:
                    break
                pause.wait(0.05)
            assert waiting, "the second insert never waited on the first"
        second_blocked.set()
        pull.join(WAIT)
        webhook.join(WAIT)
    finally:
        other.dispose()
        configure_logging(level="WARNING")
    assert (reports["pull"].applied, reports["webhook"].applied, reports["webhook"].quarantined) == (1, 1, 0)
    assert count(pg_database, OrderRow) == 1
    with pg_database.transaction() as session:
        updated_at = session.scalar(text("SELECT channel_updated_at FROM orders"))
    assert updated_at == newer.updated_at  # the later version won, as polling would reach
    log = out.getvalue()
    assert "another writer stored some of these orders first" in log
    assert "refused" not in log
