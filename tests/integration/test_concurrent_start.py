"""Several daemons started at once on a fresh database all come up; one that cannot reach its database says so.

The defect this guards against: three `channelhub run` started together on a fresh PostgreSQL database, and two
died in the schema migration (UniqueViolation on pg_type: both created the same table). Migrations must run
under a lock (an advisory lock on PostgreSQL, a lock file beside a SQLite file), so that of N daemons starting
together one migrates and the others wait and find the schema current.

The race is made real with a gate: each process imports the hub, then blocks on one shared pipe; when all of
them are ready the test closes the pipe's write end, and every process runs `channelhub run` (the console
script's own entry point, `channelhub.cli:app`) at the same instant, so they reach the migration together rather
than one import time apart.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from process_helpers import HTTP_ON_A_FREE_PORT
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from channelhub.store.db import MIGRATIONS_DIR
from channelhub.store.tables import Base

pytestmark = pytest.mark.slow

DAEMONS = 4
RUN_SECONDS = 3
READY_TIMEOUT = 180.0  # seconds for every process to import the hub on a loaded 2-core machine
EXIT_TIMEOUT = 300.0  # seconds for every daemon to migrate, run RUN_SECONDS and stop
PG_ADMIN_URL = os.environ.get("CHANNELHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

CONFIG = """\
database = "{database}"

[[locations]]
code = "main"

[[channels]]
name = "files"
kind = "marketplace"
[channels.schedule]
pull_seconds = 1
push_seconds = 1
[channels.settings]
root = "files"
orders_layout = "generic_orders"
"""
CONFIG += HTTP_ON_A_FREE_PORT

# What the console script does, behind a gate: import everything a start needs, say "ready" on one pipe, wait
# for the other pipe to close, then run the CLI with the arguments given.
GATED_CLI = """\
import os, sys
ready_fd, go_fd = int(sys.argv[1]), int(sys.argv[2])
from channelhub.cli import app
import alembic.command, channelhub.daemon, channelhub.runtime, channelhub.store.db, sqlalchemy
try:
    import psycopg
except ImportError:
    pass
os.write(ready_fd, b"r")
os.close(ready_fd)
os.read(go_fd, 1)  # returns b"" when the test closes the write end: every process at once
os.close(go_fd)
sys.argv = ["channelhub", *sys.argv[3:]]
sys.exit(app())
"""


def child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "CHANNELHUB_CONFIG"}


def channelhub_script() -> list[str]:
    script = Path(sys.executable).parent / "channelhub"
    assert script.exists(), f"the installed console script is missing: {script} (pip install -e '.[test]')"
    return [str(script)]


def hub_folder(folder: Path, database: str) -> Path:
    for sub in ("inbox", "processed", "outbox"):
        (folder / "files" / sub).mkdir(parents=True, exist_ok=True)
    (folder / "channelhub.toml").write_text(CONFIG.format(database=database))
    return folder


@dataclass
class Finished:
    index: int
    returncode: int
    stdout: str
    stderr: str

    def events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.stderr.splitlines() if line.startswith("{")]


def start_together(folder: Path, count: int, *args: str) -> list[Finished]:
    """Start `count` processes of `channelhub ARGS` in `folder` so that they begin at the same instant; wait
    for all of them to end and return what each printed."""
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    procs: list[subprocess.Popen[str]] = []
    try:
        for _ in range(count):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", GATED_CLI, str(ready_w), str(go_r), *args],
                    cwd=folder,
                    env=child_env(),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    pass_fds=(ready_w, go_r),
                )
            )
        os.close(ready_w)
        ready_w = -1
        ready = 0
        deadline = time.monotonic() + READY_TIMEOUT
        while ready < count and time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                break  # one died before it was ready: no point waiting for the rest
            readable, _, _ = select.select([ready_r], [], [], 0.5)
            if readable:
                ready += len(os.read(ready_r, count))
        if ready < count:
            outputs = [p.communicate(timeout=30) if p.poll() is not None else ("", "(still importing)") for p in procs]
            pytest.fail(f"only {ready} of {count} processes got ready in {READY_TIMEOUT:.0f}s: {outputs}")
        os.close(go_w)  # the gate opens for all of them at once
        go_w = -1
        finished = []
        deadline = time.monotonic() + EXIT_TIMEOUT
        for index, proc in enumerate(procs):
            stdout, stderr = proc.communicate(timeout=max(deadline - time.monotonic(), 1))
            finished.append(Finished(index, proc.returncode, stdout, stderr))
        return finished
    finally:
        for fd in (ready_r, ready_w, go_r, go_w):
            if fd >= 0:
                os.close(fd)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=30)


def assert_all_came_up_and_stopped_cleanly(finished: list[Finished]) -> None:
    report = "\n\n".join(f"--- daemon {f.index}: exit {f.returncode}\n{f.stderr[-4000:]}" for f in finished)
    assert [f.returncode for f in finished] == [0] * len(finished), report
    for f in finished:
        assert "Traceback" not in f.stderr, report
        events = f.events()
        assert events, report
        assert events[-1].get("event") == "daemon stopped cleanly", report
        assert "daemon started" in [e.get("event") for e in events], report
        assert not [e for e in events if e.get("level") in ("error", "critical")], report


def assert_schema_at_head_once(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()  # the newest migration shipped
    assert versions == [head], versions
    missing = {t.name for t in Base.metadata.sorted_tables} - tables
    assert not missing, missing


# --- PostgreSQL -----------------------------------------------------------------------------------------------


@pytest.fixture
def fresh_pg_database() -> Iterator[str]:
    """A new, empty PostgreSQL database of this test's own (no schema at all), dropped afterwards. Its URL as a
    user would write it in channelhub.toml."""
    name = f"channelhub_start_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    try:
        yield make_url(PG_ADMIN_URL).set(drivername="postgresql", database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def psycopg_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://")


@pytest.mark.postgres
def test_four_daemons_started_together_on_a_fresh_postgresql_database_all_come_up(
    fresh_pg_database: str, tmp_path: Path
) -> None:
    assert_empty_pg(fresh_pg_database)
    folder = hub_folder(tmp_path, fresh_pg_database)
    finished = start_together(folder, DAEMONS, "--log-json", "run", "--for-seconds", str(RUN_SECONDS))
    assert_all_came_up_and_stopped_cleanly(finished)
    assert_schema_at_head_once(psycopg_url(fresh_pg_database))


def assert_empty_pg(url: str) -> None:
    engine = create_engine(psycopg_url(url))
    try:
        with engine.connect() as conn:
            assert inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


# --- SQLite ---------------------------------------------------------------------------------------------------


def test_four_daemons_started_together_on_a_fresh_sqlite_file_all_come_up(tmp_path: Path) -> None:
    folder = hub_folder(tmp_path, "sqlite:///hub.db")
    assert not (folder / "hub.db").exists()
    finished = start_together(folder, DAEMONS, "--log-json", "run", "--for-seconds", str(RUN_SECONDS))
    assert_all_came_up_and_stopped_cleanly(finished)
    assert_schema_at_head_once(f"sqlite:///{folder / 'hub.db'}")


# --- an unreachable database -----------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["env", "file"], ids=["password-from-env", "password-in-url"])
def test_run_on_an_unreachable_database_says_so_in_one_line_with_the_password_masked(
    tmp_path: Path, where: str
) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    written = "${CHANNELHUB_DB_PASSWORD}" if where == "env" else password
    folder = hub_folder(tmp_path, f"postgresql://channelhub:{written}@127.0.0.1:1/hubdb")
    env = {**child_env(), "CHANNELHUB_DB_PASSWORD": password}
    result = subprocess.run(
        [*channelhub_script(), "run"], cwd=folder, env=env, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert "cannot open the database" in line, line
    assert "postgresql://channelhub:***@127.0.0.1:1/hubdb" in line, line
    assert password not in result.stderr + result.stdout, result.stderr
    assert result.stdout == "", result.stdout
