"""What a hostile new user broke, end to end through the real CLI and daemon, with nothing lost and nothing oversold.

Each test drives `channelhub` as a merchant would (commands in-process through typer's runner, the daemon as a
real process where it is killed) against a marketplace channel over a local folder and a SQLite file, then
counts what matters straight from the database file with sqlite3: orders, order lines, reservations, inbox rows,
the files in inbox/ and processed/. Only the CLI and the database are touched, so the same file runs against any
version of the hub.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from process_helpers import HTTP_ON_A_FREE_PORT, channelhub_command
from typer.testing import CliRunner

from channelhub.cli import app
from waiting import wait_until

pytestmark = pytest.mark.slow

CONFIG = """
database = "sqlite:///hub.db"

[sync]
dispatch_seconds = 1
overlap_seconds = 0

[[locations]]
code = "main"

[[channels]]
name = "files"
kind = "marketplace"
{extra}
[channels.schedule]
pull_seconds = 1
push_seconds = 1
[channels.settings]
root = "files"
orders_layout = "generic_orders"
page_size = {page_size}
"""
CONFIG += HTTP_ON_A_FREE_PORT

HEADER = "order_id,order_date,updated_at,line_id,sku,quantity,unit_price,currency,status\n"


def row(order: str, sku: str = "MUG", qty: str = "1", *, at: str = "2026-01-05 10:00:00", updated: str = "",
        price: str = "9.50", status: str = "paid", line: str = "1") -> str:  # fmt: skip
    return f"{order},{at},{updated or at},{line},{sku},{qty},{price},EUR,{status}\n"


class Hub:
    """A merchant's folder: the config, the channel's folders, the database; commands and counts."""

    def __init__(self, root: Path, *, page_size: int = 5000, extra: str = "") -> None:
        self.root = root
        self.inbox = root / "files" / "inbox"
        self.processed = root / "files" / "processed"
        self.outbox = root / "files" / "outbox"
        self.inbox.mkdir(parents=True)
        self.config = root / "channelhub.toml"
        self.config.write_text(CONFIG.format(page_size=page_size, extra=extra))
        self.outputs: list[str] = []

    def cli(self, *args: str, expect: int | None = 0) -> object:
        result = CliRunner().invoke(app, ["--config", str(self.config), *args], catch_exceptions=False)
        self.outputs.append(result.output)
        if expect is not None:
            assert result.exit_code == expect, f"channelhub {' '.join(args)} exited {result.exit_code}: {result.output}"
        assert "Traceback" not in result.output
        return result

    def drop(self, name: str, text: str) -> None:
        part = self.inbox / f".{name}.part"
        part.write_bytes(text.encode())
        part.rename(self.inbox / name)

    def run_once(self) -> None:
        self.cli("run", "--once")

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(self.root / "hub.db") as conn:
            return conn.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: object) -> object:
        return self.query(sql, *params)[0][0]

    def states(self) -> dict[str, str]:
        return dict(self.query("SELECT external_id, state FROM orders"))

    def hold_reason(self, order: str) -> str:
        return str(self.scalar("SELECT hold_reason FROM orders WHERE external_id = ?", order))

    def reserved(self, sku: str = "MUG") -> int:
        return int(self.scalar("SELECT coalesce(sum(reserved), 0) FROM stock_levels WHERE sku = ?", sku))

    def on_hand(self, sku: str = "MUG") -> int:
        return int(self.scalar("SELECT coalesce(sum(on_hand), 0) FROM stock_levels WHERE sku = ?", sku))

    def quarantined(self) -> list[tuple[str, str, str]]:
        return self.query("SELECT source, reason, body FROM inbox WHERE status = 'quarantined' ORDER BY id")

    def inbox_rows(self) -> int:
        return int(self.scalar("SELECT count(*) FROM inbox"))

    def assert_not_oversold(self) -> None:
        rows = self.query("SELECT sku, location, on_hand, reserved FROM stock_levels WHERE reserved > on_hand")
        assert rows == [], f"oversold: {rows}"
        held = self.query(
            "SELECT r.sku, sum(r.quantity), l.reserved FROM reservations r JOIN stock_levels l "
            "ON l.sku = r.sku AND l.location = r.location WHERE r.state = 'reserved' GROUP BY r.sku, r.location "
            "HAVING sum(r.quantity) != l.reserved"
        )
        assert held == [], f"reservations and levels disagree: {held}"


@pytest.fixture
def hub(tmp_path: Path) -> Hub:
    return Hub(tmp_path)


# --- 1. a poison value --------------------------------------------------------------------------------------


def test_a_value_the_database_cannot_hold_is_quarantined_and_every_later_file_imports(hub: Hub) -> None:
    hub.cli("stock", "set", "MUG", "100", "--reason", "count")
    hub.drop(
        "a-orders.csv",
        HEADER
        + row("G-1")
        + row("P-1", qty="99999999999999999999999")
        + row("P-2", price="1e400")
        + row("P-3", qty="20000")  # above the channel's max_line_quantity (10,000 by default)
        + row("G-2"),
    )
    hub.drop("b-orders.csv", HEADER + row("G-3"))
    hub.run_once()
    hub.run_once()  # a second cycle changes nothing more
    assert hub.states() == {"G-1": "confirmed", "G-2": "confirmed", "G-3": "confirmed"}
    reasons = {source.split()[-1]: reason for source, reason, _body in hub.quarantined()}
    assert set(reasons) == {"3", "4", "5"}, reasons  # the three lines of a-orders.csv, each on its own
    assert "quantity" in reasons["3"] and "amount" in reasons["4"] and "max_line_quantity" in reasons["5"]
    assert hub.inbox_rows() == 6  # every record stored once
    assert sorted(p.name for p in hub.processed.iterdir()) == ["a-orders.csv", "b-orders.csv"]
    assert not list(hub.inbox.glob("*.csv"))
    assert hub.reserved() == 3
    hub.assert_not_oversold()

    refused = hub.cli("inspect", "marketplace", str(hub.processed / "a-orders.csv"), "--layout", "generic_orders",
                      expect=1)  # fmt: skip
    assert refused.stderr.count("refused:") == 3 and "2 order(s) mapped" in refused.stderr, refused.stderr


# --- 2. a stray quote ---------------------------------------------------------------------------------------


def test_a_stray_quote_costs_its_own_line_and_every_good_row_after_it_imports(hub: Hub) -> None:
    hub.cli("stock", "set", "MUG", "20000", "--reason", "count")
    rows = [row(f"Q-{n}") for n in range(2, 10_002)]  # file lines 2..10001
    rows[9] = '"Q-11,2026-01-05 10:00:00,2026-01-05 10:00:00,1,MUG,1,9.50,EUR,paid\n'  # line 11 opens a quote
    hub.drop("orders.csv", HEADER + "".join(rows))
    hub.run_once()
    assert int(hub.scalar("SELECT count(*) FROM orders")) == 9_999
    [(source, _reason, body)] = hub.quarantined()
    assert source.endswith("line 11"), source
    assert '\\"Q-11,2026-01-05 10:00:00' in body or '"Q-11,2026-01-05 10:00:00' in body, body  # the raw line, kept
    assert hub.inbox_rows() == 10_000
    assert [p.name for p in hub.processed.iterdir()] == ["orders.csv"]
    hub.assert_not_oversold()


# --- 3. a cancel releases holds -----------------------------------------------------------------------------


def _two_orders_one_held(hub: Hub) -> None:
    hub.cli("stock", "set", "MUG", "2", "--reason", "count")
    hub.drop("orders-1.csv", HEADER + row("O-1", qty="2", at="2026-01-05 10:00:00")
             + row("O-2", qty="2", at="2026-01-05 10:05:00"))  # fmt: skip
    hub.run_once()
    assert hub.states() == {"O-1": "confirmed", "O-2": "on_hold"}


def test_cancelling_in_the_hub_gives_the_units_to_the_older_held_order(hub: Hub) -> None:
    _two_orders_one_held(hub)
    hub.cli("orders", "cancel", "files:O-1", "--reason", "customer asked")
    assert hub.states() == {"O-1": "cancelled", "O-2": "confirmed"}
    hub.drop("orders-2.csv", HEADER + row("O-3", qty="1", at="2026-01-05 10:10:00"))
    hub.run_once()
    assert hub.states()["O-3"] == "on_hold"  # the latecomer does not take the units the older order needed
    assert hub.reserved() == 2 == hub.on_hand()
    hub.assert_not_oversold()


def test_a_cancel_from_the_channel_gives_the_units_to_the_older_held_order(hub: Hub) -> None:
    _two_orders_one_held(hub)
    hub.drop("orders-2.csv", HEADER + row("O-1", qty="2", updated="2026-01-05 11:00:00", status="cancelled")
             + row("O-3", qty="1", at="2026-01-05 11:01:00"))  # fmt: skip
    hub.run_once()
    assert hub.states() == {"O-1": "cancelled", "O-2": "confirmed", "O-3": "on_hold"}
    assert hub.hold_reason("O-3") == "short stock for 'MUG': need 1, available 0"
    hub.assert_not_oversold()


# --- 4. a typo creates stock --------------------------------------------------------------------------------


def test_a_stock_change_at_an_undeclared_location_is_refused_and_creates_nothing(hub: Hub) -> None:
    hub.cli("stock", "set", "MUG", "5", "--reason", "count")
    queued = hub.scalar("SELECT count(*) FROM outbox")
    typo = hub.cli("stock", "set", "MUG", "5", "--reason", "x", "--location", "nowhere", expect=2)
    assert "nowhere" in typo.stderr and "main" in typo.stderr, typo.stderr
    hub.cli("stock", "adjust", "MUG", "3", "--reason", "x", "--location", "nowhere", expect=2)
    assert hub.query("SELECT code FROM locations") == [("main",)]
    assert hub.on_hand() == 5
    assert hub.scalar("SELECT count(*) FROM outbox") == queued  # nothing published for the refused changes


# --- 5. an order update -------------------------------------------------------------------------------------


def test_an_update_that_changes_lines_re_plans_the_reservation_or_holds_the_order(hub: Hub) -> None:
    hub.cli("stock", "set", "MUG", "8", "--reason", "count")
    hub.drop("o-1.csv", HEADER + row("U-1", qty="2", updated="2026-01-05 10:00:00"))
    hub.run_once()
    hub.drop("o-2.csv", HEADER + row("U-1", qty="7", updated="2026-01-05 11:00:00", price="12.00"))
    hub.run_once()
    assert hub.query("SELECT quantity FROM order_lines") == [(7,)]
    assert hub.reserved() == 7 and hub.states() == {"U-1": "confirmed"}
    assert hub.scalar("SELECT total FROM orders") == "84.00"
    events = [r for (r,) in hub.query("SELECT reason FROM order_events ORDER BY id")]
    assert any("lines changed at the channel" in e and "2 -> 7" in e for e in events), events

    hub.drop("o-3.csv", HEADER + row("U-1", qty="9", updated="2026-01-05 12:00:00"))
    hub.run_once()
    assert hub.states() == {"U-1": "on_hold"} and hub.reserved() == 0
    assert hub.hold_reason("U-1") == "short stock for 'MUG': need 9, available 8"

    hub.drop("o-4.csv", HEADER + row("U-1", qty="1", updated="2026-01-05 12:00:00"))  # same time, other content
    hub.run_once()
    events = [r for (r,) in hub.query("SELECT reason FROM order_events ORDER BY id")]
    assert any(e.startswith("conflict:") and "same updated_at" in e for e in events), events
    hub.assert_not_oversold()


# --- 8. inbox rows after crashes ----------------------------------------------------------------------------


@pytest.fixture
def paged_hub(tmp_path: Path) -> Iterator[Hub]:
    yield Hub(tmp_path, page_size=100)


def test_a_re_read_after_a_kill_stores_no_second_copy(paged_hub: Hub) -> None:
    hub = paged_hub
    hub.cli("stock", "set", "MUG", "100000", "--reason", "count")
    hub.drop("big.csv", HEADER + "".join(row(f"K-{n}") for n in range(3000)))
    env = {k: v for k, v in os.environ.items() if k != "CHANNELHUB_CONFIG"}
    for _ in range(2):  # killed twice in the middle of the file
        proc = subprocess.Popen([*channelhub_command(), "run", "--config", str(hub.config)], cwd=hub.root, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        seen = hub.inbox_rows() if (hub.root / "hub.db").exists() else 0

        def progressed(before: int = seen) -> bool:
            try:
                return hub.inbox_rows() >= before + 200
            except sqlite3.OperationalError:
                return False

        assert wait_until(progressed), "the import made no progress"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    hub.run_once()
    assert int(hub.scalar("SELECT count(*) FROM orders")) == 3000
    assert hub.inbox_rows() == 3000, "a record read again after a crash was stored a second time"
    assert [p.name for p in hub.processed.iterdir()] == ["big.csv"]
    assert hub.reserved() == 3000
    hub.assert_not_oversold()


# --- 9. file moves ------------------------------------------------------------------------------------------


def test_a_move_that_fails_after_the_import_never_stops_the_channel(hub: Hub) -> None:
    hub.processed.write_text("not a folder")  # processed/ cannot be created: every move fails
    hub.cli("stock", "set", "MUG", "5", "--reason", "count")
    hub.drop("orders-1.csv", HEADER + row("M-1"))
    result = hub.cli("--log-level", "WARNING", "sync", expect=None)
    assert "processed" in result.stderr, result.stderr  # the message names the folder that failed, not inbox/
    assert hub.states() == {"M-1": "confirmed"}
    hub.cli("status")
    assert hub.scalar("SELECT stopped_reason FROM channel_state WHERE channel = 'files'") == ""
    hub.drop("orders-2.csv", HEADER + row("M-2"))
    hub.run_once()
    assert hub.states() == {"M-1": "confirmed", "M-2": "confirmed"}  # the channel still pulls
    hub.processed.unlink()
    hub.run_once()  # the move is tried again, and now succeeds
    assert sorted(p.name for p in hub.processed.iterdir()) == ["orders-1.csv", "orders-2.csv"]
    assert hub.inbox_rows() == 2


def test_a_processed_folder_on_another_filesystem_is_reached_by_copy(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("needs /dev/shm on a filesystem of its own (the transport's unit tests cover EXDEV)")
    hub = Hub(tmp_path)
    target = shm / f"channelhub-processed-{os.getpid()}-{tmp_path.name}"
    target.mkdir()
    try:
        hub.processed.symlink_to(target, target_is_directory=True)
        hub.cli("stock", "set", "MUG", "5", "--reason", "count")
        hub.drop("orders.csv", HEADER + row("X-1"))
        hub.run_once()
        assert [p.name for p in target.iterdir()] == ["orders.csv"]
        assert not list(hub.inbox.glob("*.csv"))
    finally:
        for p in target.iterdir():
            p.unlink()
        target.rmdir()


# --- 10. refused writes -------------------------------------------------------------------------------------

REFUSING = '''
from channelhub.errors import Skippable
from channelhub.ports import Capability, Connector, EmptySettings


class RefusingConnector(Connector):
    """A channel that refuses every stock write, as a marketplace refuses an unknown listing."""

    kind = "refusing"
    capabilities = frozenset({Capability.PUSH_STOCK})
    config_model = EmptySettings

    def push_stock(self, updates):
        raise Skippable("listing MUG does not exist at the channel")
'''


def test_a_write_the_channel_refused_goes_dead_at_once_with_its_reason(tmp_path: Path) -> None:
    hub = Hub(tmp_path, extra="")
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "refusing.py").write_text(REFUSING)
    with hub.config.open("a") as config:
        config.write('\n[[channels]]\nname = "refuser"\nkind = "refusing"\n')
    hub.cli("stock", "set", "MUG", "5", "--reason", "count")
    hub.cli("sync", expect=None)
    dead = hub.query("SELECT status, attempts, last_error FROM outbox WHERE channel = 'refuser'")
    assert [(status, attempts) for status, attempts, _ in dead] == [("dead", 1)], dead
    assert "listing MUG does not exist" in dead[0][2]


# --- 11. config check says exactly what run refuses ---------------------------------------------------------


def _both_refuse(hub: Hub, needle: str) -> None:
    checked = hub.cli("config", "check", expect=2)
    assert needle in checked.stderr, checked.stderr
    ran = hub.cli("run", "--once", expect=2)
    assert needle in ran.stderr, ran.stderr


def test_config_check_and_run_both_refuse_a_missing_inbox_folder(hub: Hub) -> None:
    hub.inbox.rmdir()
    _both_refuse(hub, str(hub.inbox))


def test_config_check_and_run_both_refuse_an_unknown_layout(hub: Hub) -> None:
    hub.config.write_text(hub.config.read_text().replace('"generic_orders"', '"no_such_layout"'))
    _both_refuse(hub, "no_such_layout")


def test_config_check_and_run_both_refuse_a_database_the_hub_does_not_run_on(hub: Hub) -> None:
    hub.config.write_text(hub.config.read_text().replace('"sqlite:///hub.db"', '"mysql://hub@localhost/hub"'))
    _both_refuse(hub, "mysql:// is not supported")


def test_an_unused_broken_plugin_is_a_warning_for_config_check_and_run_starts(hub: Hub) -> None:
    (hub.root / "connectors").mkdir()
    (hub.root / "connectors" / "broken.py").write_text("import no_such_module\n")
    checked = hub.cli("config", "check")
    assert "warning" in checked.stderr and "broken.py" in checked.stderr, checked.stderr
    hub.cli("run", "--once")


def test_an_unreachable_database_is_one_line_and_exit_2(hub: Hub) -> None:
    hub.config.write_text(
        hub.config.read_text().replace('"sqlite:///hub.db"', '"postgresql://hub:pw-secret-42@127.0.0.1:1/hub"')
    )
    for command in (("status",), ("run", "--once"), ("config", "check")):
        result = hub.cli(*command, expect=2)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) <= 3 and "127.0.0.1:1" in result.stderr, result.stderr
        assert "pw-secret-42" not in result.output


# --- 12. CLI rough edges ------------------------------------------------------------------------------------


def test_cli_rough_edges(hub: Hub) -> None:
    hub.cli("stock", "set", "MUG", "10", "--reason", "count")
    hub.cli("stock", "adjust", "MUG", "-2", "--reason", "breakage")
    hub.cli("stock", "adjust", "MUG", "--reason", "breakage", "--", "-2")
    assert hub.on_hand() == 6
    too_big = hub.cli("stock", "set", "MUG", "99999999999999999999", "--reason", "x", expect=2)
    assert "Traceback" not in too_big.output and hub.on_hand() == 6
    hub.cli("quarantine", "replay", "999", expect=1)
    nope = hub.cli("orders", "list", "--channel", "nope", expect=2)
    assert "no channel named 'nope'" in nope.stderr and "files" in nope.stderr

    hub.drop("orders.csv", HEADER + row("E-1", qty="2"))
    hub.run_once()
    empty = hub.cli("ship", "files:E-1", "--carrier", "DHL", "--tracking", "", expect=2)
    assert "--tracking must not be empty" in empty.stderr, empty.stderr
    hub.cli("ship", "files:E-1", "--carrier", "DHL", "--tracking", "00340434161234567890")
    listed = hub.cli("outbox", "list")
    assert "DHL 00340434161234567890 for E-1 (MUG x2), completes the order" in listed.stdout, listed.stdout


def test_inspect_takes_a_currency_and_names_each_problem_once(hub: Hub) -> None:
    amazon = hub.root / "amz.txt"
    amazon.write_text(
        "order-id\torder-item-id\tpurchase-date\tpayments-date\tsku\tquantity-purchased\tship-country\n"
        "302-1\t11\t2026-01-05T10:00:00+00:00\t2026-01-05T10:00:00+00:00\tMUG\t1\tDE\n"
        "302-2\t12\t2026-01-05T10:00:00+00:00\t2026-01-05T10:00:00+00:00\tMUG\ttwo\tDE\n"
    )
    result = hub.cli("inspect", "marketplace", str(amazon), "--layout", "amazon_unshipped_orders", "--currency",
                     "EUR", expect=1)  # fmt: skip
    assert '"currency": "EUR"' in result.stdout and "1 order(s) mapped" in result.stderr, result.output
    [problem] = [line for line in result.stderr.splitlines() if line.startswith("refused:")]
    assert problem.count("amz.txt line 3") == 1, problem


def test_an_interactive_sync_prints_its_summary_after_the_progress_lines_are_gone(hub: Hub) -> None:
    """On a terminal the progress lines are redrawn over the screen: the summary must come after they stop
    (rich shows the cursor again when its live display ends), or the progress would draw over it."""
    import pty

    hub.cli("stock", "set", "MUG", "5", "--reason", "count")
    hub.drop("orders.csv", HEADER + row("T-1"))
    controller, terminal = pty.openpty()
    env = {**{k: v for k, v in os.environ.items() if k != "CHANNELHUB_CONFIG"}, "TERM": "xterm", "COLUMNS": "120"}
    proc = subprocess.Popen([*channelhub_command(), "--config", str(hub.config), "sync"], cwd=hub.root, env=env,
                            stdin=terminal, stdout=terminal, stderr=terminal)  # fmt: skip
    os.close(terminal)
    screen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the process closed its end
            break
        if not chunk:
            break
        screen += chunk
    assert proc.wait(60) == 0, screen.decode(errors="replace")
    os.close(controller)
    text = screen.decode(errors="replace")
    assert "\x1b[?25l" in text, "no live progress display was drawn on the terminal"
    summary = text.rindex("files: 1 file(s)/page(s)")
    assert summary > text.rindex("\x1b[?25h"), "the summary was printed while the progress display was live"
