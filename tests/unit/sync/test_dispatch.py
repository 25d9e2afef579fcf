"""The dispatcher: coalesce, skip unchanged, batch, retry with backoff, Retry-After, dead letters, recovery."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sync_helpers import outbox

from channelhub.errors import Fatal, RateLimited, Retryable
from channelhub.model.shipments import Shipment
from channelhub.ports import BatchLimits, WriteResult
from channelhub.services.views import outbox_rows
from channelhub.store import Database
from channelhub.store.tables import ChannelListingRow, OutboxRow
from channelhub.sync.dispatch import Dispatcher, DispatchReport
from channelhub.sync.outbox import enqueue, revive_dead
from channelhub.sync.retry import RetryPolicy
from channelhub.testing.fakes import BASE_TIME, RecordingConnector

NOW = BASE_TIME + timedelta(days=1)
POLICY = RetryPolicy(max_attempts=3, base=10, cap=300, jitter=False)


def put_stock(db: Database, changes: list[tuple[str, int]], channel: str = "shop", tag: str = "") -> None:
    with db.transaction() as session:
        for n, (sku, quantity) in enumerate(changes):
            enqueue(
                session,
                channel=channel,
                kind="stock",
                subject=sku,
                payload={"sku": sku, "quantity": quantity},
                cause=f"test{tag}:{n}",
            )
        session.execute(update(OutboxRow).values(due_at=BASE_TIME))


def dispatcher(db: Database, connector: RecordingConnector, **kwargs) -> Dispatcher:
    kwargs.setdefault("retry", POLICY)
    return Dispatcher(db, {connector.channel: connector}, worker_id="w1", lease=timedelta(minutes=1), **kwargs)


def statuses(db: Database) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in outbox(db):
        out[row.status] = out.get(row.status, 0) + 1
    return out


def test_latest_value_per_sku_wins_and_confirmed_values_are_not_resent(database: Database) -> None:
    conn = RecordingConnector()
    put_stock(database, [("A", 1), ("B", 5), ("A", 2), ("A", 3)])
    report = dispatcher(database, conn).run_once(NOW)
    assert report.calls == 1 and report.superseded == 2 and report.done == 2
    assert [(u.sku, u.quantity, u.previous) for u in conn.stock_calls[0]] == [("A", 3, None), ("B", 5, None)]
    with database.transaction() as session:
        assert dict(session.execute(select(ChannelListingRow.sku, ChannelListingRow.last_confirmed)).all()) == {
            "A": 3,
            "B": 5,
        }
    put_stock(database, [("A", 3), ("B", 4)], tag="again")
    report = dispatcher(database, conn).run_once(NOW)
    assert report.skipped == 1 and report.calls == 1
    assert [(u.sku, u.quantity, u.previous) for u in conn.stock_calls[1]] == [("B", 4, 5)]
    assert statuses(database) == {"superseded": 2, "done": 3, "skipped": 1}


def test_batches_respect_the_channel_limit_with_a_stable_batch_key(database: Database) -> None:
    conn = RecordingConnector(limits=BatchLimits(stock_per_call=2))
    put_stock(database, [(f"S{n}", n) for n in range(5)])
    report = dispatcher(database, conn).run_once(NOW)
    assert report.calls == 3 and [len(c) for c in conn.stock_calls] == [2, 2, 1]
    keys = {row.batch_key for row in outbox(database)}
    assert keys == {None}  # cleared once done


def test_per_item_errors_retry_with_backoff_or_go_dead(database: Database) -> None:
    conn = RecordingConnector()
    conn.fail_items = {"A": ("timeout", True), "B": ("SKU not listed", False)}
    put_stock(database, [("A", 1), ("B", 1), ("C", 1)])
    report = dispatcher(database, conn).run_once(NOW)
    assert (report.done, report.retried, report.dead) == (1, 1, 1)
    rows = {row.subject: row for row in outbox(database)}
    assert rows["A"].status == "pending" and rows["A"].due_at == NOW + timedelta(seconds=10)
    assert rows["B"].status == "dead" and rows["B"].last_error == "SKU not listed"
    # Not due yet: nothing is sent; once due it goes again with the next wait doubled.
    assert dispatcher(database, conn).run_once(NOW + timedelta(seconds=5)).calls == 0
    dispatcher(database, conn).run_once(NOW + timedelta(seconds=10))
    rows = {row.subject: row for row in outbox(database)}
    assert rows["A"].attempts == 2 and rows["A"].due_at == NOW + timedelta(seconds=30)
    dispatcher(database, conn).run_once(NOW + timedelta(seconds=30))
    rows = {row.subject: row for row in outbox(database)}
    assert rows["A"].status == "dead" and rows["A"].last_error == "timeout" and rows["A"].attempts == 3

    with database.transaction() as session:
        dead = outbox_rows(session, status="dead")
    assert {entry.subject for entry in dead} == {"A", "B"}
    conn.fail_items = {}
    with database.transaction() as session:
        assert revive_dead(session, [rows["A"].id]) == [rows["A"].id]
    report = dispatcher(database, conn).run_once(NOW + timedelta(hours=1) + timedelta(days=10000))
    with database.transaction() as session:
        assert report.done == 1 and {e.subject for e in outbox_rows(session, status="dead")} == {"B"}


def test_rate_limited_batch_honours_retry_after(database: Database) -> None:
    conn = RecordingConnector()
    conn.raise_next = [RateLimited("429", retry_after=120)]
    put_stock(database, [("A", 1), ("B", 2)])
    report = dispatcher(database, conn).run_once(NOW)
    assert report.retried == 2 and report.done == 0
    assert all(row.due_at >= NOW + timedelta(seconds=120) and row.status == "pending" for row in outbox(database))
    assert all("429" in row.last_error for row in outbox(database))
    assert dispatcher(database, conn).run_once(NOW + timedelta(seconds=119)).calls == 0
    assert dispatcher(database, conn).run_once(NOW + timedelta(seconds=120)).done == 2


def test_retryable_call_failures_end_dead_after_max_attempts(database: Database) -> None:
    conn = RecordingConnector()
    conn.raise_next = [Retryable("502 bad gateway") for _ in range(3)]
    put_stock(database, [("A", 1)])
    at = NOW
    for _ in range(3):
        dispatcher(database, conn).run_once(at)
        at += timedelta(hours=1)
    (row,) = outbox(database)
    assert (row.status, row.attempts, row.last_error) == ("dead", 3, "Retryable: 502 bad gateway")


def test_fatal_puts_rows_back_and_reports_the_channel_stopped(database: Database) -> None:
    conn = RecordingConnector(limits=BatchLimits(stock_per_call=1))
    conn.raise_next = [Fatal("401 invalid token")]
    put_stock(database, [("A", 1), ("B", 1)])
    report = dispatcher(database, conn).run_once(NOW)
    assert report.stopped == {"shop": "401 invalid token"} and report.calls == 1
    assert all(row.status == "pending" and row.attempts == 0 for row in outbox(database))
    assert dispatcher(database, conn).run_once(NOW).done == 2


def test_an_expired_inflight_batch_is_resent_as_the_same_batch(database: Database) -> None:
    conn = RecordingConnector(limits=BatchLimits(stock_per_call=2))
    put_stock(database, [("A", 1), ("B", 2), ("C", 3)])
    crashed = dispatcher(database, conn)
    batches = crashed._claim("shop", conn, NOW, DispatchReport())
    first_keys = sorted(r.idempotency_key for r in batches[0].rows)
    # The worker died here, before calling. Within the lease nobody touches the rows.
    assert dispatcher(database, conn).run_once(NOW + timedelta(seconds=30)).calls == 0
    report = dispatcher(database, conn).run_once(NOW + timedelta(minutes=2))
    assert report.done == 3
    assert sorted(u.idempotency_key for u in conn.stock_calls[0]) == first_keys


def test_a_sku_in_flight_elsewhere_waits_so_values_never_overtake(database: Database) -> None:
    conn = RecordingConnector()
    put_stock(database, [("A", 1), ("B", 1)])
    other = dispatcher(database, conn)
    other.worker_id = "w-other"
    other._claim("shop", conn, NOW, DispatchReport())  # another worker is sending A=1 and B=1 right now
    put_stock(database, [("A", 2), ("C", 7)], tag="newer")

    report = dispatcher(database, conn).run_once(NOW + timedelta(seconds=10))
    # C goes; A=2 waits for the call carrying A=1 to finish, or it could land first and be overwritten by it.
    assert [(u.sku, u.quantity) for call in conn.stock_calls for u in call] == [("C", 7)]
    assert report.done == 1
    pending = [r.subject for r in outbox(database) if r.status == "pending"]
    assert pending == ["A"]
    # The other worker died: once its lease runs out, its batch is re-sent first, then the newer value.
    dispatcher(database, conn).run_once(NOW + timedelta(minutes=2))
    sent = [(u.sku, u.quantity) for call in conn.stock_calls[1:] for u in call]
    assert sent == [("A", 1), ("B", 1), ("A", 2)]


def test_fulfillment_rows_are_sent_one_per_call(database: Database) -> None:
    conn = RecordingConnector()
    shipment = Shipment(carrier="UPS", tracking_number="1Z", shipped_at=BASE_TIME)
    with database.transaction() as session:
        for ext in ("1001", "1002"):
            enqueue(
                session,
                channel="shop",
                kind="fulfillment",
                subject=ext,
                payload={
                    "order_external_id": ext,
                    "order_number": f"#{ext}",
                    "shipment": shipment.model_dump(mode="json"),
                    "line_external_ids": {"A": f"{ext}-L1"},
                },
                cause=f"shipment:{ext}",
            )
    report = dispatcher(database, conn).run_once(NOW + timedelta(days=100000))
    assert report.calls == 2 and report.done == 2
    assert [f.order_external_id for f in conn.fulfillments] == ["1001", "1002"]
    assert conn.fulfillments[0].shipment.tracking_number == "1Z"
    assert conn.fulfillments[0].line_external_ids == {"A": "1001-L1"}


def test_bench_scenario_small(database: Database) -> None:
    """The bench's scenario, smaller: 1,000 changes over 200 SKUs, limit 20 -> 10 calls, then nothing to send."""
    conn = RecordingConnector(limits=BatchLimits(stock_per_call=20))
    changes = [(f"SKU-{n % 200:04d}", n) for n in range(1000)]
    put_stock(database, changes)
    assert dispatcher(database, conn).run_once(NOW).calls == 10
    latest = {sku: quantity for sku, quantity in changes}
    put_stock(database, list(latest.items()), tag="second")
    report = dispatcher(database, conn).run_once(NOW)
    assert report.calls == 0 and report.skipped == 200


class SlowConnector(RecordingConnector):
    def __init__(self) -> None:
        super().__init__(limits=BatchLimits(stock_per_call=5))
        self.lock = threading.Lock()
        self.seen: list[str] = []

    def push_stock(self, updates):
        time.sleep(0.02)
        with self.lock:
            self.seen.extend(u.idempotency_key for u in updates)
        return [WriteResult(u.idempotency_key) for u in updates]


@pytest.mark.postgres
def test_two_dispatchers_racing_on_postgres_claim_disjoint_rows(pg_database: Database) -> None:
    database = pg_database
    put_stock(database, [(f"S{n}", n) for n in range(200)])
    conn = SlowConnector()
    workers = [
        Dispatcher(database, {"shop": conn}, worker_id=f"w{i}", retry=POLICY, lease=timedelta(minutes=5),
                   batches_per_claim=1)
        for i in range(2)
    ]  # fmt: skip
    threads = [threading.Thread(target=w.run_once, args=(NOW,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(conn.seen) == len(set(conn.seen)) == 200
    assert statuses(database) == {"done": 200}
    with database.transaction() as session:
        claimed = set(session.scalars(select(OutboxRow.claimed_by)))
    assert claimed == {None}


def test_the_dispatch_bench_passes_at_a_small_size(tmp_path) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "bench" / "dispatch.py"
    spec = importlib.util.spec_from_file_location("bench_dispatch", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--changes", "500", "--skus", "100", "--limit", "10"]) == 0


def test_a_write_the_channel_refused_goes_dead_at_once_and_a_bug_is_logged_with_its_traceback(
    database: Database,
) -> None:
    """Defect 10: Skippable was retried like a network error, up to max_attempts; a bug was only counted."""
    import io

    from channelhub.errors import Skippable
    from channelhub.logs import configure_logging

    conn = RecordingConnector()
    put_stock(database, [("A", 1)])
    conn.raise_next.append(Skippable("listing A is closed at the channel"))
    report = dispatcher(database, conn).run_once(NOW)
    [row] = outbox(database)
    assert (row.status, row.attempts, report.dead, report.retried) == ("dead", 1, 1, 0)
    assert "refused: listing A is closed at the channel" in row.last_error

    class Broken(RecordingConnector):
        def push_stock(self, updates):  # a connector bug: not a hub error
            raise KeyError("inventory_item_id")

    put_stock(database, [("B", 2)], tag="b")
    logged = io.StringIO()
    configure_logging(level="INFO", stream=logged)
    try:
        report = dispatcher(database, Broken()).run_once(NOW)
    finally:
        configure_logging(level="WARNING")
    b = next(r for r in outbox(database) if r.subject == "B")
    assert (b.status, report.retried) == ("pending", 1)  # a bug may be transient: retried, then dead
    assert "KeyError" in b.last_error
    text = logged.getvalue()
    assert "not a hub error" in text and "Traceback" in text and "inventory_item_id" in text, text


def test_order_writes_reach_the_channel_before_stock_writes_of_the_same_round(database: Database) -> None:
    """WooCommerce puts a cancelled order's stock back itself: the hub's figure must land after, not before."""
    calls: list[str] = []

    class Ordered(RecordingConnector):
        def push_stock(self, updates):
            calls.append("stock")
            return super().push_stock(updates)

        def push_cancellation(self, request):
            calls.append("cancellation")
            return super().push_cancellation(request)

    with database.transaction() as session:
        enqueue(session, channel="shop", kind="stock", subject="A", payload={"sku": "A", "quantity": 3}, cause="s1")
        enqueue(session, channel="shop", kind="cancellation", subject="9",
                payload={"order_external_id": "9", "order_number": "#9", "reason": "asked"}, cause="c1")  # fmt: skip
        enqueue(session, channel="shop", kind="stock", subject="A", payload={"sku": "A", "quantity": 5}, cause="s2")
        session.execute(update(OutboxRow).values(due_at=BASE_TIME))
    report = dispatcher(database, Ordered()).run_once(NOW)
    assert calls == ["cancellation", "stock"] and report.done == 2 and report.superseded == 1
