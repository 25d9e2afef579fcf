"""No configured secret leaves the hub: not in any command's output, not in any log line, not in the database.

The defect this guards against: a WooCommerce channel with `query_string_auth` met a 502 whose body echoed the
request path, and the consumer secret appeared in clear in `channelhub status`, in `sync` output and in the
database (`channel_state.last_error`, `outbox.last_error`); the consumer key too over plain HTTP (OAuth 1.0a puts
`oauth_consumer_key` in the URL).

End to end, as a new user would run it: a loopback stand-in for the store answers every request with a 502 whose
JSON body echoes the full request target (so the keys in the query string come back), a config in a fresh folder
names the channel with the key from `${WOO_KEY}`, the secret from a `*_file` and the webhook secret from the
environment, and every command runs through the installed `channelhub` script in its own process. Then each
secret, in every form it could travel in (plain, URL-encoded, as a Basic credential), is looked for in every
stdout and stderr, in every file of the folder but the secret file itself, and in the SQLite files as bytes. The
errors must really have been stored (the pull's and the stock write's, both naming the 502), so nothing passes by
storing nothing.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import secrets
import sqlite3
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, quote_plus, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from process_helpers import HTTP_ON_A_FREE_PORT
from sqlalchemy import select

from channelhub.store import open_database
from channelhub.store.tables import ChannelStateRow, OutboxRow

pytestmark = pytest.mark.slow

SKU = "MUG-1"
COMMAND_TIMEOUT = 180  # seconds; a command on a loaded machine takes a few

CONFIG = """\
database = "sqlite:///hub.db"

[sync]
dispatch_seconds = 1
max_attempts = 1000
backoff_base_seconds = 0.1
backoff_cap_seconds = 0.5

[[locations]]
code = "main"

[[channels]]
name = "woo"
kind = "woocommerce"

[channels.schedule]
pull_seconds = 1
push_seconds = 1

[channels.settings]
store_url = "{store_url}"
consumer_key = "${{WOO_KEY}}"
consumer_secret_file = "secrets/woo"
webhook_secret = "${{WOO_WEBHOOK_SECRET}}"
query_string_auth = true
allow_insecure_http = {insecure}
verify_ssl = false
timeout = 5
"""
CONFIG += HTTP_ON_A_FREE_PORT


# --- the store's stand-in: a 502 to everything, echoing what it was asked -----------------------------------


def self_signed_tls(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (files kept in `folder`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


class _EchoHandler(BaseHTTPRequestHandler):
    server: _EchoServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.server.record(f"{self.command} {self.path}")
        body = json.dumps({"code": "bad_gateway", "message": f"upstream failed for {self.path}"}).encode()
        self.send_response(502)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, format: str, *args: Any) -> None:
        return None


class _EchoServer(ThreadingHTTPServer):
    """Loopback only; TLS when given a context (the handshake runs in the request's thread, not the accept
    loop, so one stuck client cannot stall the others)."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _EchoHandler)
        self.tls = tls
        self.seen: list[str] = []
        self._lock = threading.Lock()

    def record(self, line: str) -> None:
        with self._lock:
            self.seen.append(line)

    def requests_seen(self) -> list[str]:
        with self._lock:
            return list(self.seen)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(60)
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        with self.tls.wrap_socket(request, server_side=True) as wrapped:
            self.RequestHandlerClass(wrapped, client_address, self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return None  # a client hanging up mid-answer is not this test's subject; what it asked is recorded


@dataclass
class EchoStore:
    server: _EchoServer
    url: str

    def requests_seen(self) -> list[str]:
        return self.server.requests_seen()


def serve_echo(tls: ssl.SSLContext | None) -> Iterator[EchoStore]:
    server = _EchoServer(tls)
    host, port = server.server_address[:2]
    thread = threading.Thread(target=server.serve_forever, name="echo-store", daemon=True)
    thread.start()
    try:
        yield EchoStore(server, f"{'https' if tls else 'http'}://{host}:{port}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=30)


# --- the secrets, and every form they could travel in -----------------------------------------------------


@dataclass(frozen=True)
class Secrets:
    key: str
    secret: str
    webhook: str

    @classmethod
    def fresh(cls) -> Secrets:
        # WooCommerce's own shape (ck_/cs_ + 40 hex), unique to this run; the webhook secret is chosen by the
        # merchant, so it carries characters that URL-encoding changes, and its encoded forms are looked for too.
        return cls(
            key=f"ck_{secrets.token_hex(20)}",
            secret=f"cs_{secrets.token_hex(20)}",
            webhook=f"wh+{secrets.token_hex(16)}/=",
        )

    def forms(self) -> dict[str, bytes]:
        """What to grep for, by a name for the report: each secret plain and URL-encoded, and the key and secret
        as an HTTP Basic credential."""
        found: dict[str, bytes] = {}
        for label, value in (("consumer key", self.key), ("consumer secret", self.secret), ("webhook", self.webhook)):
            for how, form in (("", value), (" (quoted)", quote(value, safe="")), (" (quote_plus)", quote_plus(value))):
                if form.encode() not in found.values():  # hex secrets read the same encoded
                    found[f"{label}{how}"] = form.encode()
        basic = base64.b64encode(f"{self.key}:{self.secret}".encode())
        found["basic credential"] = basic
        return found


def leaks_in(data: bytes, forms: dict[str, bytes]) -> list[str]:
    return sorted({label for label, form in forms.items() if form in data})


# --- the hub folder and the commands ------------------------------------------------------------------------


def channelhub_script() -> list[str]:
    script = Path(sys.executable).parent / "channelhub"
    assert script.exists(), f"the installed console script is missing: {script} (pip install -e '.[test]')"
    return [str(script)]


@dataclass
class Run:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def label(self) -> str:
        return "channelhub " + " ".join(self.args)


@dataclass
class Hub:
    """The hub's folder, and what every command run in it printed and left in its database files."""

    folder: Path
    env: dict[str, str]
    keys: Secrets
    runs: list[Run] = field(default_factory=list)
    database_leaks: dict[str, list[str]] = field(default_factory=dict)
    database_files_read: set[str] = field(default_factory=set)
    _keeper: sqlite3.Connection | None = None

    @property
    def forms(self) -> dict[str, bytes]:
        return self.keys.forms()

    def run(self, *args: str, expect: int = 0) -> Run:
        done = subprocess.run(
            [*channelhub_script(), *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
        )
        run = Run(args, done.returncode, done.stdout, done.stderr)
        self.runs.append(run)
        self.read_database_files(f"after {run.label}")
        assert run.returncode == expect, f"{run.label}: exit {run.returncode}\n{run.stdout}\n{run.stderr}"
        assert "Traceback" not in run.stderr, f"{run.label}:\n{run.stderr}"
        return run

    def read_database_files(self, when: str) -> None:
        """Grep hub.db, hub.db-wal and hub.db-shm as bytes. One connection of the test's own stays open from the
        moment the file exists: the last connection to close checkpoints the WAL and deletes it, so without it
        the -wal file (which holds every recent version of a row) would be gone by the time anyone looked."""
        path = self.folder / "hub.db"
        if self._keeper is None and path.exists():
            self._keeper = sqlite3.connect(path)
            self._keeper.execute("PRAGMA schema_version").fetchone()
        for file in sorted(self.folder.glob("hub.db*")):
            if file.is_file():
                self.database_files_read.add(file.name)
                if leaks := leaks_in(file.read_bytes(), self.forms):
                    self.database_leaks[f"{when}: {file.name}"] = leaks

    def close(self) -> None:
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None


def make_hub(folder: Path, store_url: str, keys: Secrets) -> Hub:
    insecure = store_url.startswith("http://")
    (folder / "channelhub.toml").write_text(
        CONFIG.format(store_url=store_url, insecure="true" if insecure else "false")
    )
    secret_file = folder / "secrets" / "woo"
    secret_file.parent.mkdir()
    secret_file.write_text(keys.secret + "\n")
    secret_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k != "CHANNELHUB_CONFIG"}
    # Wide enough that no table cell is folded: a secret split over two lines would slip past the grep.
    env.update(WOO_KEY=keys.key, WOO_WEBHOOK_SECRET=keys.webhook, COLUMNS="4000", NO_COLOR="1")
    return Hub(folder, env, keys)


def run_every_command(hub: Hub) -> None:
    """Every command a new user would try, in the order they would, through the real CLI."""
    hub.run("config", "check")
    hub.run("db", "upgrade")
    hub.run("stock", "set", SKU, "7", "--reason", "first count")
    hub.run("stock", "adjust", SKU, "-2", "--reason", "two broke")
    hub.run("stock", "show")
    hub.run("sync", expect=1)  # the pull met the 502: reported, exit 1; the stock write failed and waits
    views(hub)
    hub.run("--log-level", "DEBUG", "run", "--once")
    hub.run("--log-level", "DEBUG", "run", "--for-seconds", "2")
    hub.run("--log-json", "--log-level", "DEBUG", "run", "--for-seconds", "2")
    hub.run("--log-json", "sync", expect=1)
    views(hub)  # again, now that the daemon has stored its own errors


def views(hub: Hub) -> None:
    hub.run("status")
    hub.run("outbox", "list")
    hub.run("outbox", "list", "--status", "pending")
    hub.run("orders", "list")
    hub.run("quarantine", "list")


# --- the test -------------------------------------------------------------------------------------------------


@pytest.fixture
def hub(store: EchoStore, tmp_path: Path) -> Iterator[Hub]:
    hub = make_hub(tmp_path, store.url, Secrets.fresh())
    yield hub
    hub.close()


@pytest.fixture(params=["https-query-string-auth", "http-oauth1"])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EchoStore]:
    tls = self_signed_tls(tmp_path_factory.mktemp("tls")) if request.param.startswith("https") else None
    yield from serve_echo(tls)


def test_no_secret_in_any_output_file_or_database_row_when_the_store_echoes_the_request(
    store: EchoStore, hub: Hub, tmp_path: Path
) -> None:
    forms, keys = hub.forms, hub.keys
    # The detector itself: it finds the secret where the secret is meant to be.
    assert leaks_in((tmp_path / "secrets" / "woo").read_bytes(), forms) == ["consumer secret"]

    run_every_command(hub)

    # The stand-in really was asked with the keys in the URL, so its echoes carried them back.
    seen = store.requests_seen()
    pulls = [line for line in seen if " /wp-json/wc/v3/orders" in line]
    stock = [line for line in seen if " /wp-json/wc/v3/products" in line]
    assert pulls and stock, seen
    query = parse_qs(urlsplit(pulls[-1].split(" ", 1)[1]).query)
    if store.url.startswith("https://"):
        assert query.get("consumer_key") == [keys.key] and query.get("consumer_secret") == [keys.secret], query
    else:
        assert query.get("oauth_consumer_key") == [keys.key] and "oauth_signature" in query, query

    # 1. Every stdout and stderr.
    printed = {
        f"{run.label}: {stream}": leaks
        for run in hub.runs
        for stream, text in (("stdout", run.stdout), ("stderr", run.stderr))
        if (leaks := leaks_in(text.encode(), forms))
    }

    # 2. The SQLite files after every command (read as bytes, so an overwritten row still in a free page or an
    # old WAL frame counts), and at the end every file in the folder but the secret file: the config, the
    # database files, the lock files.
    assert hub.database_files_read >= {"hub.db", "hub.db-wal", "hub.db-shm"}, hub.database_files_read
    stored = {
        str(path.relative_to(tmp_path)): leaks
        for path in sorted(tmp_path.rglob("*"))
        if path.is_file() and path != tmp_path / "secrets" / "woo"
        if (leaks := leaks_in(path.read_bytes(), forms))
    }
    stored.update(hub.database_leaks)
    assert not printed and not stored, {"printed": printed, "stored": stored}
    hub.close()  # the WAL is checkpointed into hub.db: read it once more, then through SQLAlchemy
    assert not leaks_in((tmp_path / "hub.db").read_bytes(), forms)

    # 3. The errors were stored and shown, so the test cannot pass by keeping nothing.
    db = open_database(f"sqlite:///{tmp_path / 'hub.db'}", migrate=False)
    try:
        with db.transaction() as session:
            state = session.get(ChannelStateRow, "woo")
            writes = session.scalars(select(OutboxRow).where(OutboxRow.channel == "woo", OutboxRow.kind == "stock"))
            failed = [(w.status, w.attempts, w.last_error) for w in writes if w.last_error]
    finally:
        db.dispose()
    assert state is not None and "502" in state.last_error, state and state.last_error
    assert "upstream failed" in state.last_error, state.last_error  # the store's echo itself was kept
    assert failed, "no stock write kept an error"
    assert all("502" in error for _status, _attempts, error in failed), failed
    assert max(attempts for _status, attempts, _error in failed) >= 2, failed  # retried, not dropped
    assert any(status == "pending" for status, _attempts, _error in failed), failed

    by_label = {run.label: run for run in hub.runs}
    assert "502" in by_label["channelhub sync"].stderr, by_label["channelhub sync"].stderr
    assert "502" in by_label["channelhub status"].stdout, by_label["channelhub status"].stdout
    assert "502" in by_label["channelhub outbox list --status pending"].stdout
    assert "daemon stopped cleanly" in by_label["channelhub --log-json --log-level DEBUG run --for-seconds 2"].stderr
    # The daemon met the 502 itself (its pulls and writes ran, and were logged), with the keys masked.
    debug = by_label["channelhub --log-level DEBUG run --for-seconds 2"].stderr
    assert "502" in debug, debug[-3000:]
    masked = "consumer_key=***" if store.url.startswith("https://") else "oauth_consumer_key=***"
    assert masked in debug, debug[-3000:]  # urllib3 logged the URL the key travelled in, masked
