"""The SSH side of the SFTP transport (paramiko): logging in, host keys checked against known_hosts, the local
login files, and every paramiko failure translated at this boundary.

Error table (what the engine does next):

    unknown host key (not in known_hosts)    Fatal   unless allow_unknown_hosts (then accepted, with a warning)
    host key differs from known_hosts        Fatal   always: the server changed or someone is in between
    authentication refused                   Fatal
    known_hosts, key_file, password_file     Fatal   when connecting would refuse them (checked before it starts)
    missing file or folder, permission       Fatal
    any other refusal the server sends       Retryable (SSH_FX_FAILURE says nothing more; the connection stays)
    socket error, timeout, EOF, SSHException Retryable (the connection is dropped; the next call reconnects)

No paramiko exception crosses the boundary; the password never appears in a message or a log line.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
from pydantic import SecretStr

from channelhub.errors import ConnectorError, Fatal, Retryable

log = logging.getLogger(__name__)


class _UnknownHostKey(paramiko.SSHException):
    def __init__(self, key: paramiko.PKey) -> None:
        super().__init__(f"{key.get_name()} {fingerprint(key)}")


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH's SHA256 fingerprint, as `ssh-keygen -lf` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode("ascii").rstrip("=")


class _RejectUnknown(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise _UnknownHostKey(key)


class _AcceptUnknown(paramiko.MissingHostKeyPolicy):
    """Accept for this connection only: known_hosts is never written (paramiko's AutoAddPolicy would)."""

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        log.warning(
            "accepting unknown SFTP host key for %s (%s %s) because allow_unknown_hosts is set; add it to "
            "known_hosts to be safe from impostors",
            hostname,
            key.get_name(),
            fingerprint(key),
        )
        client.get_host_keys().add(hostname, key.get_name(), key)


class SftpSession:
    """One SFTP login to `host`. `sftp()` connects on first use and again after a dropped connection; `guard()`
    translates what fails inside it."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 22,
        username: str,
        password: SecretStr | None = None,
        password_file: Path | None = None,
        key_file: Path | None = None,
        key_passphrase: SecretStr | None = None,
        known_hosts: Path,
        allow_unknown_hosts: bool = False,
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.username = username
        self._password = password
        self._password_file = password_file
        self._key_file = key_file
        self._key_passphrase = key_passphrase
        self.known_hosts = known_hosts
        self.allow_unknown_hosts = allow_unknown_hosts
        self.timeout = timeout
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def sftp(self) -> paramiko.SFTPClient:
        """The live SFTP client, logging in first when there is none (or it dropped). Fatal, before any network
        use, for a login file connecting would refuse (see local_problems)."""
        if self._sftp is not None and self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._sftp
            self.drop()
        client = paramiko.SSHClient()
        problem = self._known_hosts_problem(client.load_host_keys) or self._key_file_problem()
        secret, password_problem = self._secret()
        problem = problem or password_problem
        if problem is not None:
            raise Fatal(f"{problem[0]}: {problem[1]}", where=f"sftp {self.address}")
        client.set_missing_host_key_policy(_AcceptUnknown() if self.allow_unknown_hosts else _RejectUnknown())
        try:
            client.connect(
                self.host,
                port=self.port,
                username=self.username,
                password=secret,
                key_filename=str(self._key_file) if self._key_file else None,
                passphrase=self._key_passphrase.get_secret_value() if self._key_passphrase else None,
                timeout=self.timeout,
                banner_timeout=self.timeout,
                auth_timeout=self.timeout,
                channel_timeout=self.timeout,
                allow_agent=False,
                look_for_keys=False,
            )
            sftp = client.open_sftp()
            channel = sftp.get_channel()
            if channel is not None:
                channel.settimeout(self.timeout)
        except BaseException as exc:
            client.close()
            if isinstance(exc, Exception):
                raise self.translate(exc, f"sftp {self.address}") from None
            raise
        self._client, self._sftp = client, sftp
        return sftp

    # -- local files: what connecting needs before it reaches the network ------------------------------------
    # Each check returns None or (setting, what is wrong, naming the path). sftp() refuses on the first;
    # local_problems() lists them all, for the connector's preflight: the same checks, so a preflight that
    # passes means connecting will not refuse for these files.

    def local_problems(self) -> list[tuple[str, str]]:
        """Every problem with known_hosts, key_file and password_file that connecting would refuse on."""
        found = [self._known_hosts_problem(paramiko.HostKeys().load), self._key_file_problem(), self._secret()[1]]
        return [problem for problem in found if problem is not None]

    def _known_hosts_problem(self, load: Callable[[str], None]) -> tuple[str, str] | None:
        """Load known_hosts with `load`: a missing file is a problem unless allow_unknown_hosts; an unreadable one
        always is."""
        try:
            load(str(self.known_hosts))
        except FileNotFoundError:
            if not self.allow_unknown_hosts:
                return "known_hosts", (f"{self.known_hosts} does not exist; add the server's host key there or set "
                                       "allow_unknown_hosts")  # fmt: skip
        except (OSError, ValueError, paramiko.SSHException) as exc:
            return "known_hosts", f"cannot read {self.known_hosts}: {_reason(exc)}"
        return None

    def _key_file_problem(self) -> tuple[str, str] | None:
        """paramiko reads the key only once connected and lets a read error through as if it came from the
        server: read it first, here."""
        if self._key_file is None:
            return None
        try:
            with open(self._key_file, "rb") as key:
                key.read()
        except OSError as exc:
            return "key_file", f"cannot read {self._key_file}: {_reason(exc)}"
        return None

    def _secret(self) -> tuple[str | None, tuple[str, str] | None]:
        """(the password to log in with, or None; the password_file's problem, or None)."""
        if self._password is not None:
            return self._password.get_secret_value(), None
        if self._password_file is None:
            return None, None
        try:
            return self._password_file.read_text(encoding="utf-8").rstrip("\r\n"), None
        except OSError as exc:
            return None, ("password_file", f"cannot read {self._password_file}: {_reason(exc)}")
        except UnicodeDecodeError:
            return None, ("password_file", f"{self._password_file} is not UTF-8 text")

    def drop(self) -> None:
        client, self._client, self._sftp = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def close(self) -> None:
        self.drop()

    def translate(self, exc: Exception, where: str) -> ConnectorError:
        """The ConnectorError for a paramiko (or socket) failure; a connection failure also drops the session."""
        if isinstance(exc, ConnectorError):
            return exc
        if isinstance(exc, _UnknownHostKey):
            return Fatal(
                f"host key for {self.address} ({exc}) not in known_hosts {self.known_hosts}; add it or set "
                "allow_unknown_hosts",
                where=where,
            )
        if isinstance(exc, paramiko.BadHostKeyException):
            return Fatal(
                f"host key for {self.address} does not match the one in known_hosts {self.known_hosts} (got "
                f"{fingerprint(exc.key)}): the server's key changed or someone is in between; check, then update "
                "known_hosts",
                where=where,
            )
        if isinstance(exc, paramiko.AuthenticationException):
            return Fatal(f"authentication failed for user {self.username!r} at {self.address}", where=where)
        if isinstance(exc, FileNotFoundError):
            return Fatal("no such file or folder on the server", where=where)
        if isinstance(exc, PermissionError):
            return Fatal("permission denied by the server", where=where)
        if server_refusal(exc):  # the server answered, the connection is fine
            return Retryable(f"the server refused: {exc}", where=where)
        if isinstance(exc, EOFError | paramiko.SSHException | socket.timeout | OSError):
            self.drop()
            detail = str(exc) or type(exc).__name__
            return Retryable(f"connection to {self.address} failed: {detail}", where=where)
        self.drop()
        return Retryable(f"unexpected SFTP failure at {self.address}: {type(exc).__name__}: {exc}", where=where)

    @contextlib.contextmanager
    def guard(self, where: str) -> Iterator[None]:
        """Whatever fails inside (but a ConnectorError) is translated by the table above, `where` naming the
        path the step works on."""
        try:
            yield
        except ConnectorError:
            raise
        except Exception as exc:
            raise self.translate(exc, where) from None


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__


def server_refusal(exc: BaseException) -> bool:
    """Whether paramiko raised an SFTP status the server sent without an errno (SSH_FX_FAILURE and the like):
    its own plain IOError(text); connection failures are subclasses or carry an errno."""
    return type(exc) is OSError and exc.errno is None
