"""SFTP file transport (paramiko), with host keys checked against known_hosts and every paramiko failure
translated at this boundary.

Error table (what the engine does next):

    unknown host key (not in known_hosts)    Fatal   unless allow_unknown_hosts (then accepted, with a warning)
    host key differs from known_hosts        Fatal   always: the server changed or someone is in between
    authentication refused                   Fatal
    missing file or folder, permission       Fatal
    any other refusal the server sends       Retryable (SSH_FX_FAILURE says nothing more; the connection stays)
    socket error, timeout, EOF, SSHException Retryable (the connection is dropped; the next call reconnects)

A move the server refuses with its generic failure (OpenSSH's answer to a rename across filesystems) is done
as a copy through this connection, then a remove. Every error names the path that failed.

No paramiko exception crosses the boundary; the password never appears in a message or a log line.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import logging
import posixpath
import socket
import stat
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

import paramiko
from channelhub_connectors.marketplace.transport import (
    READ_BUFFER,
    SourceMissing,
    as_patterns,
    free_name,
    is_leftover,
    matches,
    temporary_name,
)
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


class SftpTransport:
    """Files under `root` on an SFTP server. Connects on first use and again after a dropped connection."""

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
        root: str = ".",
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
        self.root = root
        self.timeout = timeout
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def location(self, directory: str, name: str = "") -> str:
        return f"sftp://{self.username}@{self.address}/{self._path(directory, name).removeprefix('./')}"

    def _path(self, directory: str, name: str = "") -> str:
        return posixpath.join(self.root, directory, name) if name else posixpath.join(self.root, directory)

    # -- connection -------------------------------------------------------------------------------------------

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._client is not None:
            transport = self._client.get_transport()
            if transport is not None and transport.is_active():
                return self._sftp
            self._drop()
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
                raise self._translate(exc, f"sftp {self.address}") from None
            raise
        self._client, self._sftp = client, sftp
        return sftp

    # -- local files: what connecting needs before it reaches the network ------------------------------------
    # Each check returns None or (setting, what is wrong, naming the path). _session refuses on the first;
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

    def _drop(self) -> None:
        client, self._client, self._sftp = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()

    def close(self) -> None:
        self._drop()

    def _translate(self, exc: Exception, where: str) -> ConnectorError:
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
        if _server_refusal(exc):  # the server answered, the connection is fine
            return Retryable(f"the server refused: {exc}", where=where)
        if isinstance(exc, EOFError | paramiko.SSHException | socket.timeout | OSError):
            self._drop()
            detail = str(exc) or type(exc).__name__
            return Retryable(f"connection to {self.address} failed: {detail}", where=where)
        self._drop()
        return Retryable(f"unexpected SFTP failure at {self.address}: {type(exc).__name__}: {exc}", where=where)

    @contextlib.contextmanager
    def _guard(self, where: str) -> Iterator[None]:
        try:
            yield
        except ConnectorError:
            raise
        except Exception as exc:
            raise self._translate(exc, where) from None

    # -- file operations --------------------------------------------------------------------------------------

    def list_files(self, directory: str, pattern: str | Sequence[str]) -> list[str]:
        patterns = as_patterns(pattern)
        where = self.location(directory)
        with self._guard(where):
            try:
                entries = self._session().listdir_attr(self._path(directory))
            except FileNotFoundError:
                reason = "folder does not exist (create it, or fix the channel's remote_root)"
                raise Fatal(reason, where=where) from None
        return sorted(
            e.filename for e in entries if matches(e.filename, patterns) and e.st_mode and stat.S_ISREG(e.st_mode)
        )

    def open_read(self, directory: str, name: str) -> BinaryIO:
        where = self.location(directory, name)
        with self._guard(where):
            handle = self._session().open(self._path(directory, name), "rb")
        return io.BufferedReader(_GuardedReader(self, handle, where), buffer_size=READ_BUFFER)  # type: ignore[return-value]

    def read_bytes(self, directory: str, name: str) -> bytes:
        with self.open_read(directory, name) as stream:
            return stream.read()

    def write_atomic(self, directory: str, name: str, data: bytes) -> None:
        folder = self._path(directory)
        temporary = posixpath.join(folder, temporary_name(name))
        final = posixpath.join(folder, name)
        with self._guard(self.location(directory, name)):
            sftp = self._session()
            self._ensure_folder(sftp, folder)
            try:
                with sftp.open(temporary, "wb") as handle:
                    handle.set_pipelined(True)
                    handle.write(data)
                self._replace(sftp, temporary, final)
                for leftover in sftp.listdir(folder):
                    if is_leftover(leftover, name):
                        with contextlib.suppress(FileNotFoundError):
                            sftp.remove(posixpath.join(folder, leftover))
            except Exception:
                with contextlib.suppress(Exception):
                    sftp.remove(temporary)
                raise

    @staticmethod
    def _replace(sftp: paramiko.SFTPClient, source: str, target: str) -> None:
        try:
            sftp.posix_rename(source, target)  # atomic replace, where the server has the OpenSSH extension
        except (FileNotFoundError, PermissionError):
            raise
        except OSError:
            # Plain SFTP rename refuses an existing target: remove it first (a reader may miss the file for an
            # instant, but never sees half of it).
            with contextlib.suppress(FileNotFoundError):
                sftp.remove(target)
            sftp.rename(source, target)

    @staticmethod
    def _ensure_folder(sftp: paramiko.SFTPClient, folder: str) -> None:
        try:
            sftp.stat(folder)
        except FileNotFoundError:
            sftp.mkdir(folder)

    def move(self, src_dir: str, name: str, dst_dir: str) -> str:
        source, target = self._path(src_dir, name), self._path(dst_dir)
        with self._guard(self.location(dst_dir)):
            sftp = self._session()
            self._ensure_folder(sftp, target)
            final = free_name(name, set(sftp.listdir(target)))
        destination = posixpath.join(target, final)
        with self._guard(self.location(src_dir, name)):
            try:
                sftp.rename(source, destination)
                return final
            except FileNotFoundError:
                if not self._present(sftp, source):
                    raise SourceMissing("the file is no longer there", where=self.location(src_dir, name)) from None
                raise Fatal("the folder is no longer there", where=self.location(dst_dir)) from None
            except PermissionError:
                raise self._refused(sftp, src_dir, dst_dir) from None
            except OSError as exc:
                if not _server_refusal(exc):
                    raise
        # The server refused the rename without saying why: SFTP's generic failure, OpenSSH's answer to a rename
        # across filesystems. Copy the file over, then remove it.
        self._copy_across(sftp, src_dir, name, dst_dir, final)
        return final

    def _copy_across(self, sftp: paramiko.SFTPClient, src_dir: str, name: str, dst_dir: str, final: str) -> None:
        """Copy under a temporary name, check the size, rename, then remove the source. A source that cannot be
        removed takes its copy back with it, so the file is never in both folders."""
        source, at_source = self._path(src_dir, name), self.location(src_dir, name)
        destination, at_target = self._path(dst_dir, final), self.location(dst_dir)
        temporary = posixpath.join(self._path(dst_dir), temporary_name(final))
        try:
            with self._guard(at_source):
                reading = sftp.open(source, "rb")
            with reading, self._guard(at_target), sftp.open(temporary, "wb") as out:
                out.set_pipelined(True)
                while True:
                    with self._guard(at_source):
                        chunk = reading.read(READ_BUFFER)
                    if not chunk:
                        break
                    out.write(chunk)
            with self._guard(at_target):
                copied = sftp.stat(temporary).st_size
            with self._guard(at_source):
                size = sftp.stat(source).st_size
            if copied != size:
                raise Retryable(f"the copy to {at_target} holds {copied} of {size} bytes", where=at_source)
            with self._guard(self.location(dst_dir, final)):
                self._replace(sftp, temporary, destination)
        except BaseException:
            with contextlib.suppress(Exception):
                sftp.remove(temporary)
            raise
        with self._guard(self.location(src_dir)):
            try:
                sftp.remove(source)
            except FileNotFoundError:
                log.info("%s was removed by someone else while it was copied to %s", at_source, at_target)
            except BaseException:
                with contextlib.suppress(Exception):
                    sftp.remove(destination)
                raise

    def _refused(self, sftp: paramiko.SFTPClient, src_dir: str, dst_dir: str) -> Fatal:
        """A rename refused: the target folder's fault when a file cannot be created in it, else the source's."""
        probe = posixpath.join(self._path(dst_dir), temporary_name("write-probe"))
        try:
            sftp.open(probe, "wb").close()
        except Exception as exc:
            detail = "permission denied by the server" if isinstance(exc, PermissionError) else f"refused: {exc}"
            return Fatal(f"{detail} (cannot create a file in the folder)", where=self.location(dst_dir))
        with contextlib.suppress(Exception):
            sftp.remove(probe)
        return Fatal("permission denied by the server (cannot remove the file from its folder)",
                     where=self.location(src_dir))  # fmt: skip

    @staticmethod
    def _present(sftp: paramiko.SFTPClient, path: str) -> bool:
        try:
            sftp.stat(path)
        except FileNotFoundError:
            return False
        return True

    def exists(self, directory: str, name: str) -> bool:
        with self._guard(self.location(directory, name)):
            try:
                self._session().stat(self._path(directory, name))
            except FileNotFoundError:
                return False
        return True


def _reason(exc: BaseException) -> str:
    return (exc.strerror if isinstance(exc, OSError) else None) or str(exc) or type(exc).__name__


def _server_refusal(exc: BaseException) -> bool:
    """Whether paramiko raised an SFTP status the server sent without an errno (SSH_FX_FAILURE and the like):
    its own plain IOError(text); connection failures are subclasses or carry an errno."""
    return type(exc) is OSError and exc.errno is None


class _GuardedReader(io.RawIOBase):
    """A raw stream over a paramiko file whose failures (a dropped connection mid-file) become ConnectorErrors."""

    def __init__(self, transport: SftpTransport, handle: paramiko.SFTPFile, where: str) -> None:
        self._transport = transport
        self._handle = handle
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        with self._transport._guard(self._where):
            data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._handle.close()
        super().close()
