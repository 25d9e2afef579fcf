"""Moving an imported file to processed/: across filesystems, into a folder that refuses it, and when the file
left the inbox while it was imported. Errors name the folder that failed; the import itself is never undone."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector

from channelhub.errors import Fatal
from channelhub.ports import PulledPage, PullRequest

from .conftest import FIXTURES

Make = Callable[..., MarketplaceConnector]
REQUEST = PullRequest(cursor=None, overlap=timedelta(0), now=datetime(2026, 11, 22, tzinfo=UTC))
ORDERS = (FIXTURES / "generic_orders.csv").read_bytes()


def last_page(connector: MarketplaceConnector) -> PulledPage:
    (page,) = connector.pull_orders(REQUEST)
    assert page.on_committed is not None
    return page


@pytest.fixture
def other_filesystem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on another filesystem than tmp_path: under /dev/shm when that is one; else a folder whose
    renames from outside fail as across filesystems (EXDEV), as they would."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and os.stat(shm).st_dev != os.stat(tmp_path).st_dev:
        folder = Path(tempfile.mkdtemp(prefix="channelhub-test-", dir=shm))
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
        return
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str], **kwargs: object) -> None:
        inside = [Path(p).resolve().is_relative_to(folder.resolve()) for p in (src, dst)]
        if inside[0] != inside[1]:
            raise OSError(errno.EXDEV, os.strerror(errno.EXDEV), str(src), None, str(dst))
        real_replace(src, dst, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", replace)
    yield folder


def refuses_new_files(folder: Path) -> bool:
    probe = folder / ".probe"
    try:
        probe.write_bytes(b"")
    except OSError:
        return True
    probe.unlink()
    return False


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """`folder` refuses new entries, for real: its mode for an ordinary user; for root, whom modes do not stop,
    the immutable attribute. Skips where neither holds."""
    folder.chmod(0o555)
    immutable = False
    try:
        if not refuses_new_files(folder) and shutil.which("chattr"):
            immutable = subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode == 0
        if not refuses_new_files(folder):
            pytest.skip("cannot make a folder read-only here (root without the immutable attribute)")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_processed_on_another_filesystem_is_copied_synced_then_removed(
    make_connector: Make, root: Path, other_filesystem: Path
) -> None:
    (root / "processed").symlink_to(other_filesystem, target_is_directory=True)
    connector = make_connector()
    for expected in ("orders.csv", "orders~1.csv"):  # the second drop of the same name keeps both
        (root / "inbox" / "orders.csv").write_bytes(ORDERS)
        last_page(connector).on_committed()  # type: ignore[misc]
        assert not (root / "inbox" / "orders.csv").exists()
        assert (other_filesystem / expected).read_bytes() == ORDERS
    assert sorted(p.name for p in other_filesystem.iterdir()) == ["orders.csv", "orders~1.csv"]  # no temporary


def test_a_source_that_cannot_be_removed_after_the_copy_takes_its_copy_back(
    make_connector: Make, root: Path, other_filesystem: Path
) -> None:
    (root / "processed").symlink_to(other_filesystem, target_is_directory=True)
    (root / "inbox" / "orders.csv").write_bytes(ORDERS)
    page = last_page(make_connector())
    with read_only(root / "inbox"), pytest.raises(Fatal) as caught:
        page.on_committed()  # type: ignore[misc]
    assert caught.value.where == str(root / "inbox")
    assert (root / "inbox" / "orders.csv").read_bytes() == ORDERS
    assert list(other_filesystem.iterdir()) == []  # never in both folders


def test_a_processed_folder_that_refuses_the_file_is_named_not_the_inbox(make_connector: Make, root: Path) -> None:
    (root / "processed").mkdir()
    (root / "inbox" / "orders.csv").write_bytes(ORDERS)
    page = last_page(make_connector())
    with read_only(root / "processed"), pytest.raises(Fatal) as caught:
        page.on_committed()  # type: ignore[misc]
    assert caught.value.where == str(root / "processed")
    assert (root / "inbox" / "orders.csv").exists()


def test_a_processed_folder_that_cannot_be_created_is_named(make_connector: Make, root: Path) -> None:
    (root / "inbox" / "orders.csv").write_bytes(ORDERS)
    page = last_page(make_connector())
    with read_only(root), pytest.raises(Fatal) as caught:
        page.on_committed()  # type: ignore[misc]
    assert caught.value.where == str(root / "processed")
    assert (root / "inbox" / "orders.csv").exists()


def test_a_file_removed_from_the_inbox_while_it_was_imported_leaves_nothing_to_move(
    make_connector: Make, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (root / "inbox" / "orders.csv").write_bytes(ORDERS)
    page = last_page(make_connector())
    assert len(page.records) == 2  # its orders were read (and, by the engine, committed)
    (root / "inbox" / "orders.csv").unlink()  # the marketplace pulled its file back meanwhile
    with caplog.at_level(logging.INFO, logger="channelhub_connectors.marketplace.connector"):
        page.on_committed()  # type: ignore[misc]
    assert "inbox/orders.csv left the inbox while it was imported" in caplog.text
    assert list((root / "processed").iterdir()) == []


@pytest.mark.parametrize("exists", [True, False])
def test_an_outbox_that_refuses_a_feed_is_named(make_connector: Make, root: Path, exists: bool) -> None:
    from channelhub.ports import StockUpdate

    if exists:
        (root / "outbox").mkdir()
    with read_only(root / "outbox" if exists else root), pytest.raises(Fatal) as caught:
        make_connector().push_stock([StockUpdate(sku="MUG", quantity=1, idempotency_key="k1")])
    assert caught.value.where == str(root / "outbox")
