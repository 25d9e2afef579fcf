"""The marketplace connector against a real SFTP server (asyncssh) on 127.0.0.1, serving a temporary folder.

Covers: pulling and writing over SFTP, host key checks (unknown key refused unless allowed, a changed key always
refused), bad passwords, a connection dropped in the middle of a file (Retryable, nothing lost, imported once on
the next pull), the atomic replace with and without the posix-rename extension, and moving imported files:
across filesystems on the server, into a folder the server refuses, and after the file left the inbox.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncssh
import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector
from channelhub_connectors.marketplace.sftp import SftpTransport

from channelhub.errors import Fatal, Retryable
from channelhub.ports import ConnectorContext, PullRequest, StockUpdate

USER = "seller"
PASSWORD = "s3cret-test-password"
REQUEST = PullRequest(cursor=None, overlap=timedelta(0), now=datetime(2026, 11, 22, tzinfo=UTC))
HEADER = b"order_id,order_date,sku,quantity,unit_price,currency\n"


@dataclass
class Behaviour:
    """How the test server misbehaves; changed by tests while it runs."""

    drop_read_after: int | None = None  # abort the connection once a read reaches this offset (then reset)
    drops: int = 0
    posix_rename: bool = True
    refuse_writes_in: bytes | None = None  # a folder (as the client names it) where nothing may be created
    cross_device: bytes | None = None  # a folder a plain rename into fails as across filesystems, as OpenSSH does


def _within(path: bytes, folder: bytes | None) -> bool:
    return folder is not None and (path == folder or path.startswith(folder.rstrip(b"/") + b"/"))


class _Login(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == USER and password == PASSWORD


def _sftp_factory(root: Path, behaviour: Behaviour) -> Callable[[Any], asyncssh.SFTPServer]:
    class RootedSFTP(asyncssh.SFTPServer):
        """Serves `root` as "/"; can drop the connection mid-read and hide the posix-rename extension."""

        def __init__(self, chan: Any) -> None:
            super().__init__(chan, chroot=str(root).encode())

        def read(self, file_obj: Any, offset: int, size: int) -> bytes:
            limit = behaviour.drop_read_after
            if limit is not None and offset + size > limit:
                behaviour.drop_read_after = None
                behaviour.drops += 1
                self.connection.abort()
                raise asyncssh.SFTPConnectionLost("connection dropped by the test")
            return super().read(file_obj, offset, size)  # type: ignore[return-value]

        def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
            if not behaviour.posix_rename:
                raise asyncssh.SFTPOpUnsupported("posix-rename not supported here")
            self._refuse(newpath)
            super().posix_rename(oldpath, newpath)

        def _refuse(self, path: bytes) -> None:
            if _within(path, behaviour.refuse_writes_in):
                raise asyncssh.SFTPPermissionDenied("Permission denied")

        def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
            if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT):
                self._refuse(path)
            return super().open(path, pflags, attrs)

        def mkdir(self, path: bytes, attrs: Any) -> None:
            self._refuse(path)
            super().mkdir(path, attrs)

        def rename(self, oldpath: bytes, newpath: bytes) -> None:
            self._refuse(newpath)
            if _within(newpath, behaviour.cross_device) != _within(oldpath, behaviour.cross_device):
                raise asyncssh.SFTPFailure("Invalid cross-device link")  # OpenSSH's sftp-server: FX_FAILURE
            super().rename(oldpath, newpath)

    return RootedSFTP


@dataclass
class SftpServer:
    root: Path
    host_key: asyncssh.SSHKey
    behaviour: Behaviour = field(default_factory=Behaviour)
    port: int = 0

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp-test-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=10)
        self.port = self._acceptor.get_port()

    async def _listen(self) -> Any:
        return await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[self.host_key],
            server_factory=_Login,
            sftp_factory=_sftp_factory(self.root, self.behaviour),
            allow_scp=False,
        )

    def stop(self) -> None:
        async def close() -> None:
            self._acceptor.close()
            await self._acceptor.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def known_hosts_line(self, key: asyncssh.SSHKey | None = None) -> str:
        public = (key or self.host_key).export_public_key("openssh").decode().split()[:2]
        return f"[127.0.0.1]:{self.port} {' '.join(public)}\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SftpServer]:
    root = tmp_path / "server"
    (root / "mp" / "inbox").mkdir(parents=True)
    running = SftpServer(root=root, host_key=asyncssh.generate_private_key("ssh-ed25519"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def known_hosts(tmp_path: Path, server: SftpServer) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(server.known_hosts_line())
    return path


def connector(server: SftpServer, tmp_path: Path, known_hosts: Path, **settings: Any) -> MarketplaceConnector:
    values = {
        "transport": "sftp",
        "host": "127.0.0.1",
        "port": server.port,
        "username": USER,
        "password": PASSWORD,
        "known_hosts": str(known_hosts),
        "remote_root": "/mp",
        "timeout": 10,
        **settings,
    }
    return MarketplaceConnector(values, ConnectorContext(channel="mp-sftp", base_dir=tmp_path))


def order_file(orders: int) -> bytes:
    rows = b"".join(b"S-%06d,2026-11-20,SKU-%d,1,2.50,EUR\n" % (n, n % 97) for n in range(orders))
    return HEADER + rows


def test_pull_and_write_over_sftp(server: SftpServer, tmp_path: Path, known_hosts: Path) -> None:
    remote = server.root / "mp"
    (remote / "inbox" / "orders-1.csv").write_bytes(order_file(3))
    mp = connector(server, tmp_path, known_hosts)
    try:
        (page,) = list(mp.pull_orders(REQUEST))
        assert [r.external_id for r in page.records] == ["S-000000", "S-000001", "S-000002"]
        assert page.records[0].source == "inbox/orders-1.csv line 2"
        assert page.on_committed is not None
        page.on_committed()
        assert (remote / "processed" / "orders-1.csv").exists()
        assert not (remote / "inbox" / "orders-1.csv").exists()
        assert list(mp.pull_orders(REQUEST)) == []

        results = mp.push_stock([StockUpdate(sku="MUG-RED", quantity=4, idempotency_key="k1")])
        assert results[0].ok and results[0].confirmed_quantity == 4
        mp.push_stock([StockUpdate(sku="MUG-RED", quantity=4, idempotency_key="k1")])  # a retry: same file
        (feed,) = (remote / "outbox").iterdir()
        assert feed.name == "stock-" + hashlib.sha256(b"k1").hexdigest()[:16] + ".tsv"
        assert feed.read_text().splitlines()[1] == "MUG-RED\t\t4\t\t"
    finally:
        mp.close()


def test_write_atomic_replaces_a_file_with_and_without_posix_rename(
    server: SftpServer, tmp_path: Path, known_hosts: Path
) -> None:
    transport = connector(server, tmp_path, known_hosts).transport
    assert isinstance(transport, SftpTransport)
    try:
        # A write killed before its rename left its temporary file; the retry of that write sweeps it.
        (server.root / "mp" / "outbox").mkdir(parents=True, exist_ok=True)
        (server.root / "mp" / "outbox" / ".feed.tsv.0123456789ab.part").write_bytes(b"half a fi")
        (server.root / "mp" / "outbox" / ".other.tsv.0123456789ab.part").write_bytes(b"not ours to sweep")
        transport.write_atomic("outbox", "feed.tsv", b"first\n")
        assert sorted(p.name for p in (server.root / "mp" / "outbox").iterdir()) == [
            ".other.tsv.0123456789ab.part",
            "feed.tsv",
        ]
        (server.root / "mp" / "outbox" / ".other.tsv.0123456789ab.part").unlink()
        transport.write_atomic("outbox", "feed.tsv", b"second\n")
        server.behaviour.posix_rename = False
        transport.write_atomic("outbox", "feed.tsv", b"third\n")
        assert [p.name for p in (server.root / "mp" / "outbox").iterdir()] == ["feed.tsv"]  # no temporary left
        assert (server.root / "mp" / "outbox" / "feed.tsv").read_bytes() == b"third\n"
        assert transport.exists("outbox", "feed.tsv") and not transport.exists("outbox", "other.tsv")
    finally:
        transport.close()


def test_an_unknown_host_key_is_refused_unless_allowed(server: SftpServer, tmp_path: Path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    refused = connector(server, tmp_path, empty)
    with pytest.raises(Fatal) as caught:
        list(refused.pull_orders(REQUEST))
    assert f"host key for 127.0.0.1:{server.port}" in str(caught.value)
    assert f"not in known_hosts {empty}; add it or set allow_unknown_hosts" in str(caught.value)

    allowed = connector(server, tmp_path, empty, allow_unknown_hosts=True)
    try:
        assert list(allowed.pull_orders(REQUEST)) == []
    finally:
        allowed.close()
    assert empty.read_text() == ""  # accepting for this connection never writes known_hosts


def test_a_changed_host_key_is_refused_even_when_unknown_hosts_are_allowed(server: SftpServer, tmp_path: Path) -> None:
    other = tmp_path / "known_hosts_other"
    other.write_text(server.known_hosts_line(asyncssh.generate_private_key("ssh-ed25519")))
    mp = connector(server, tmp_path, other, allow_unknown_hosts=True)
    with pytest.raises(Fatal, match="does not match the one in known_hosts"):
        list(mp.pull_orders(REQUEST))


def test_a_wrong_password_is_fatal_and_never_shown(server: SftpServer, tmp_path: Path, known_hosts: Path) -> None:
    mp = connector(server, tmp_path, known_hosts, password="wrong-password-value")
    with pytest.raises(Fatal, match="authentication failed for user 'seller'") as caught:
        list(mp.pull_orders(REQUEST))
    assert "wrong-password-value" not in str(caught.value)
    assert "wrong-password-value" not in repr(mp.settings)


def test_an_unreachable_server_is_retryable_naming_the_host(tmp_path: Path, known_hosts: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    values = {"transport": "sftp", "host": "127.0.0.1", "port": free_port, "username": USER, "password": PASSWORD,
              "known_hosts": str(known_hosts), "timeout": 5}  # fmt: skip
    mp = MarketplaceConnector(values, ConnectorContext(channel="down", base_dir=tmp_path))
    with pytest.raises(Retryable, match=f"127.0.0.1:{free_port}"):
        list(mp.pull_orders(REQUEST))


def test_a_connection_dropped_mid_file_loses_nothing_and_the_next_pull_imports_it_once(
    server: SftpServer, tmp_path: Path, known_hosts: Path
) -> None:
    data = order_file(60_000)  # ~2 MB: many reads, several pages
    inbox = server.root / "mp" / "inbox"
    (inbox / "big.csv").write_bytes(data)
    server.behaviour.drop_read_after = len(data) // 2
    mp = connector(server, tmp_path, known_hosts, page_size=10_000)

    imported: dict[str, str] = {}  # what an engine would have upserted: external_id -> source
    committed_hashes: set[str] = set()

    def run_engine() -> None:
        for page in mp.pull_orders(REQUEST):
            # A page already imported under its hash is skipped, but the file still moves.
            records = [] if page.content_hash in committed_hashes else page.records
            for record in records:
                assert record.problem is None
                imported[record.external_id or ""] = record.source
            if page.content_hash is not None:
                committed_hashes.add(page.content_hash)
            if page.on_committed is not None:
                page.on_committed()

    try:
        with pytest.raises(Retryable, match=f"127.0.0.1:{server.port}"):
            run_engine()
        assert server.behaviour.drops == 1
        assert (inbox / "big.csv").exists()  # not moved: the file's import never completed
        assert not (server.root / "mp" / "processed").exists()
        assert 0 < len(imported) < 60_000  # earlier pages were committed; they are idempotent upserts

        run_engine()  # reconnects by itself
        assert len(imported) == 60_000
        assert committed_hashes == {hashlib.sha256(data).hexdigest()}
        assert not (inbox / "big.csv").exists()
        assert (server.root / "mp" / "processed" / "big.csv").read_bytes() == data
        assert list(mp.pull_orders(REQUEST)) == []
    finally:
        mp.close()


def pull_one(mp: MarketplaceConnector) -> Callable[[], None]:
    """Pull the inbox's one file; its last page's on_committed (what the engine calls after the commit)."""
    page = list(mp.pull_orders(REQUEST))[-1]
    assert page.on_committed is not None
    return page.on_committed


@pytest.fixture
def processed_elsewhere(server: SftpServer, tmp_path: Path) -> Iterator[Path]:
    """The server's processed/ on another filesystem than its inbox: a link to /dev/shm where that is one (the
    server's own rename then fails with EXDEV), else the test server answering as if it were."""
    import os
    import shutil
    import tempfile

    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and os.stat(shm).st_dev != os.stat(server.root).st_dev:
        folder = Path(tempfile.mkdtemp(prefix="channelhub-sftp-", dir=shm))
        (server.root / "mp" / "processed").symlink_to(folder, target_is_directory=True)
        yield folder
        shutil.rmtree(folder, ignore_errors=True)
        return
    (server.root / "mp" / "processed").mkdir()
    server.behaviour.cross_device = b"/mp/processed"
    yield server.root / "mp" / "processed"


def test_a_move_across_filesystems_on_the_server_is_a_copy_then_a_remove(
    server: SftpServer, tmp_path: Path, known_hosts: Path, processed_elsewhere: Path
) -> None:
    data = order_file(20_000)  # ~0.7 MB: several reads and writes
    inbox = server.root / "mp" / "inbox"
    mp = connector(server, tmp_path, known_hosts)
    try:
        for expected in ("orders.csv", "orders~1.csv"):
            (inbox / "orders.csv").write_bytes(data)
            pull_one(mp)()
            assert not (inbox / "orders.csv").exists()
            assert (processed_elsewhere / expected).read_bytes() == data
        assert sorted(p.name for p in processed_elsewhere.iterdir()) == ["orders.csv", "orders~1.csv"]
    finally:
        mp.close()


@pytest.mark.parametrize("exists", [True, False])
def test_a_processed_folder_the_server_refuses_is_named_not_the_inbox(
    server: SftpServer, tmp_path: Path, known_hosts: Path, exists: bool
) -> None:
    if exists:
        (server.root / "mp" / "processed").mkdir()
    (server.root / "mp" / "inbox" / "orders.csv").write_bytes(order_file(3))
    server.behaviour.refuse_writes_in = b"/mp/processed"
    mp = connector(server, tmp_path, known_hosts)
    try:
        committed = pull_one(mp)
        with pytest.raises(Fatal, match="permission denied by the server") as caught:
            committed()
        assert caught.value.where == f"sftp://{USER}@127.0.0.1:{server.port}//mp/processed"  # remote_root "/mp"
        assert (server.root / "mp" / "inbox" / "orders.csv").exists()
    finally:
        mp.close()


def test_a_file_gone_from_the_inbox_while_it_was_imported_is_not_an_error(
    server: SftpServer, tmp_path: Path, known_hosts: Path
) -> None:
    inbox = server.root / "mp" / "inbox"
    (inbox / "orders.csv").write_bytes(order_file(3))
    mp = connector(server, tmp_path, known_hosts)
    try:
        committed = pull_one(mp)
        (inbox / "orders.csv").unlink()
        committed()  # logged, nothing to move
        assert list((server.root / "mp" / "processed").iterdir()) == []
    finally:
        mp.close()


def sftp_settings(tmp_path: Path, port: int, **settings: Any) -> MarketplaceConnector:
    values = {"transport": "sftp", "host": "127.0.0.1", "port": port, "username": USER, "timeout": 5, **settings}
    return MarketplaceConnector(values, ConnectorContext(channel="mp-sftp", base_dir=tmp_path))


def test_preflight_finds_unreadable_login_files_without_the_network(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text(asyncssh.generate_private_key("ssh-ed25519").export_private_key().decode())
    hosts = tmp_path / "known_hosts"
    hosts.write_text("")
    secret = tmp_path / "password.txt"
    secret.write_text(PASSWORD + "\n")
    port = 9  # nothing listens there, and nothing may be tried: preflight stays off the network

    fine = sftp_settings(tmp_path, port, key_file="id_ed25519", password_file="password.txt", known_hosts="known_hosts")
    assert fine.preflight() == []

    broken = sftp_settings(tmp_path, port, key_file="keys/gone", password_file="nope.txt", known_hosts="no_hosts")
    assert broken.preflight() == [
        f"settings.known_hosts: {tmp_path / 'no_hosts'} does not exist; add the server's host key there or set "
        "allow_unknown_hosts",
        f"settings.key_file: cannot read {tmp_path / 'keys' / 'gone'}: No such file or directory",
        f"settings.password_file: cannot read {tmp_path / 'nope.txt'}: No such file or directory",
    ]
    # A password given inline is used instead of the file, and unknown hosts may be allowed: then neither counts.
    lenient = sftp_settings(tmp_path, port, password="x", password_file="nope.txt", known_hosts="no_hosts",
                            allow_unknown_hosts=True)  # fmt: skip
    assert lenient.preflight() == []
    (tmp_path / "hosts_dir").mkdir()
    unreadable = sftp_settings(tmp_path, port, password="x", known_hosts="hosts_dir", allow_unknown_hosts=True)
    assert unreadable.preflight() == [f"settings.known_hosts: cannot read {tmp_path / 'hosts_dir'}: Is a directory"]


def test_an_unreadable_key_file_is_fatal_naming_it_before_any_connection(
    server: SftpServer, tmp_path: Path, known_hosts: Path
) -> None:
    mp = connector(server, tmp_path, known_hosts, password=None, key_file="missing_key")
    with pytest.raises(Fatal) as caught:
        list(mp.pull_orders(REQUEST))
    assert caught.value.message == f"key_file: cannot read {tmp_path / 'missing_key'}: No such file or directory"
    assert mp.preflight() == [f"settings.{caught.value.message}"]


def test_an_outbox_the_server_refuses_is_named(server: SftpServer, tmp_path: Path, known_hosts: Path) -> None:
    server.behaviour.refuse_writes_in = b"/mp/outbox"
    mp = connector(server, tmp_path, known_hosts)
    try:
        with pytest.raises(Fatal, match="permission denied by the server") as caught:
            mp.push_stock([StockUpdate(sku="MUG-RED", quantity=4, idempotency_key="k1")])
        assert caught.value.where == f"sftp://{USER}@127.0.0.1:{server.port}//mp/outbox"
    finally:
        mp.close()
