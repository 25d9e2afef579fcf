"""Shared fixtures: a migrated database on SQLite and on PostgreSQL, one body for both.

PostgreSQL: each test run creates its own database on 127.0.0.1:5432 and drops it at the end. When it is
unreachable the PostgreSQL variants skip, except under CI (the CI variable set), where they fail.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from channelhub.store import Database, open_database
from channelhub.store.tables import Base

PG_ADMIN_URL = os.environ.get("CHANNELHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_admin_engine():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database for this test run, dropped afterwards."""
    name = f"channelhub_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = _pg_admin_engine()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is unreachable under CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrated = open_database(url)
    migrated.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps the suite fast)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = open_database(f"sqlite:///{path}")
    db.dispose()
    return path


def _truncate_all(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty, migrated database: a SQLite file, or the run's PostgreSQL database truncated."""
    if request.param == "sqlite":
        path = tmp_path / "hub.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_url")
    _truncate_all(url)
    return url


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """An open Database on each backend (SQLite and PostgreSQL), schema at head, no rows."""
    db = open_database(db_url, migrate=False)
    yield db
    db.dispose()


@pytest.fixture
def pg_database(pg_url: str) -> Iterator[Database]:
    """PostgreSQL only, for tests of what SQLite does not have (FOR UPDATE SKIP LOCKED, advisory locks)."""
    _truncate_all(pg_url)
    db = open_database(pg_url, migrate=False)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_database(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests whose subject is not the backend."""
    path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, path)
    db = open_database(f"sqlite:///{path}", migrate=False)
    yield db
    db.dispose()
