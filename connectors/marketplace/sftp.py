"""SFTP file transport: the file operations of `transport.FileTransport` over an `SftpSession` (which logs in,
checks host keys and translates paramiko's failures; its module draws the error table).

A move the server refuses with its generic failure (OpenSSH's answer to a rename across filesystems) is done
as a copy through this connection, then a remove. Every error names the path that failed.
"""

from __future__ import annotations

import contextlib
import io
import logging
import posixpath
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

import paramiko
from channelhub_connectors.marketplace.sftp_session import SftpSession, server_refusal
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

from channelhub.errors import Fatal, Retryable

log = logging.getLogger(__name__)


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
        self.session = SftpSession(
            host=host,
            port=port,
            username=username,
            password=password,
            password_file=password_file,
            key_file=key_file,
            key_passphrase=key_passphrase,
            known_hosts=known_hosts,
            allow_unknown_hosts=allow_unknown_hosts,
            timeout=timeout,
        )
        self.root = root
        self._guard = self.session.guard  # every file operation runs its steps under it

    @property
    def address(self) -> str:
        return self.session.address

    def location(self, directory: str, name: str = "") -> str:
        return f"sftp://{self.session.username}@{self.address}/{self._path(directory, name).removeprefix('./')}"

    def _path(self, directory: str, name: str = "") -> str:
        return posixpath.join(self.root, directory, name) if name else posixpath.join(self.root, directory)

    def local_problems(self) -> list[tuple[str, str]]:
        """(setting, problem) for each login file connecting would refuse; see SftpSession.local_problems."""
        return self.session.local_problems()

    def close(self) -> None:
        self.session.close()

    # -- file operations --------------------------------------------------------------------------------------

    def list_files(self, directory: str, pattern: str | Sequence[str]) -> list[str]:
        patterns = as_patterns(pattern)
        where = self.location(directory)
        with self._guard(where):
            try:
                entries = self.session.sftp().listdir_attr(self._path(directory))
            except FileNotFoundError:
                reason = "folder does not exist (create it, or fix the channel's remote_root)"
                raise Fatal(reason, where=where) from None
        return sorted(
            e.filename for e in entries if matches(e.filename, patterns) and e.st_mode and stat.S_ISREG(e.st_mode)
        )

    def open_read(self, directory: str, name: str) -> BinaryIO:
        where = self.location(directory, name)
        with self._guard(where):
            handle = self.session.sftp().open(self._path(directory, name), "rb")
        return io.BufferedReader(_GuardedReader(self, handle, where), buffer_size=READ_BUFFER)  # type: ignore[return-value]

    def read_bytes(self, directory: str, name: str) -> bytes:
        with self.open_read(directory, name) as stream:
            return stream.read()

    def write_atomic(self, directory: str, name: str, data: bytes) -> None:
        folder = self._path(directory)
        temporary = posixpath.join(folder, temporary_name(name))
        final = posixpath.join(folder, name)
        at_folder = self.location(directory)
        with self._guard(at_folder):  # the folder: it cannot be created, or a file cannot be written in it
            sftp = self.session.sftp()
            self._ensure_folder(sftp, folder)
        try:
            with self._guard(at_folder), sftp.open(temporary, "wb") as handle:
                handle.set_pipelined(True)
                handle.write(data)
            with self._guard(self.location(directory, name)):
                self._replace(sftp, temporary, final)
        except Exception:
            with contextlib.suppress(Exception):
                sftp.remove(temporary)
            raise
        with self._guard(at_folder):
            for leftover in sftp.listdir(folder):
                if is_leftover(leftover, name):
                    with contextlib.suppress(FileNotFoundError):
                        sftp.remove(posixpath.join(folder, leftover))

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
            sftp = self.session.sftp()
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
                if not server_refusal(exc):
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
                self.session.sftp().stat(self._path(directory, name))
            except FileNotFoundError:
                return False
        return True


class _GuardedReader(io.RawIOBase):
    """A raw stream over a paramiko file whose failures (a dropped connection mid-file) become ConnectorErrors."""

    def __init__(self, transport: SftpTransport, handle: paramiko.SFTPFile, where: str) -> None:
        self._transport = transport
        self._handle = handle
        self._where = where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        with self._transport.session.guard(self._where):
            data = self._handle.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Exception):
                self._handle.close()
        super().close()
