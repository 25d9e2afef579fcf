"""File transports: the few file operations the marketplace connector needs, over a local folder or SFTP.

Folders are names relative to the transport's root ("inbox", "outbox"). Every method raises only
`channelhub.errors.ConnectorError` subclasses: Retryable for a transient failure (network, a dropped
connection), Fatal for one that retrying cannot fix (a missing folder, permission denied, bad login). An error's
`where` is the path that failed: the target folder when it is the target that cannot be created or written,
the source when it is the source that cannot be read or removed.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import logging
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from channelhub.errors import Fatal, Retryable

log = logging.getLogger(__name__)

READ_BUFFER = 1 << 20
# Refusals that may be the target folder's (not writable, read-only filesystem) or the source folder's (an
# entry that cannot be removed from it): a rename cannot say which, so the target is tried on its own.
REFUSED = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})


class SourceMissing(Fatal):
    """The file to move is not in its folder (any more): someone else took it away. Nothing was moved."""


@runtime_checkable
class FileTransport(Protocol):
    """What the connector does with files. Names never contain a folder part."""

    def location(self, directory: str, name: str = "") -> str:
        """Where a folder or file is, for messages ("/srv/mp/inbox/a.tsv", "sftp://host:22/mp/inbox/a.tsv")."""
        ...

    def list_files(self, directory: str, pattern: str | Sequence[str]) -> list[str]:
        """Names of the regular files in `directory` matching any of the glob patterns, sorted by name.

        Hidden names (a leading dot: temporary files of an atomic write) are never listed. A missing folder is
        Fatal: a typo in the root must not look like an empty inbox.
        """
        ...

    def open_read(self, directory: str, name: str) -> BinaryIO:
        """A buffered binary stream over the file; the caller closes it. Errors while reading are translated too."""
        ...

    def read_bytes(self, directory: str, name: str) -> bytes: ...

    def write_atomic(self, directory: str, name: str, data: bytes) -> None:
        """Write under a hidden temporary name, then rename over `name`: a reader sees the old file or the whole
        new one, never a part. Creates the folder when missing. Writing the same name again replaces it."""
        ...

    def move(self, src_dir: str, name: str, dst_dir: str) -> str:
        """Move a file to another folder (created when missing) and return its name there. An existing file of
        the same name there is kept: the moved one gets `<stem>~<n><suffix>`. Across filesystems the file is
        copied (and synced) under a temporary name, renamed, and only then removed from its folder.

        SourceMissing when the file is not there (any more): a caller tidying up may pass over it."""
        ...

    def exists(self, directory: str, name: str) -> bool: ...

    def close(self) -> None: ...


def matches(name: str, patterns: Sequence[str]) -> bool:
    return not name.startswith(".") and any(fnmatch.fnmatchcase(name, p) for p in patterns)


def as_patterns(pattern: str | Sequence[str]) -> tuple[str, ...]:
    return (pattern,) if isinstance(pattern, str) else tuple(pattern)


def temporary_name(name: str) -> str:
    return f".{name}.{uuid.uuid4().hex[:12]}.part"


def is_leftover(candidate: str, name: str) -> bool:
    """True for a temporary file of an earlier write of `name` that died before its rename (a killed process).

    Outbound names are deterministic, so the retry of that write is the write of the same name: it sweeps them.
    """
    return candidate.startswith(f".{name}.") and candidate.endswith(".part")


def free_name(name: str, taken: set[str]) -> str:
    """`name`, or `<stem>~<n><suffix>` with the smallest n not in `taken`."""
    if name not in taken:
        return name
    stem, dot, suffix = name.partition(".")
    n = 1
    while True:
        candidate = f"{stem}~{n}{dot}{suffix}"
        if candidate not in taken:
            return candidate
        n += 1


class LocalFolderTransport:
    """Files under a local root folder (a mounted share, or a folder another program drops files into)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def location(self, directory: str, name: str = "") -> str:
        path = self.root / directory
        return str(path / name if name else path)

    def _folder(self, directory: str) -> Path:
        return self.root / directory

    def list_files(self, directory: str, pattern: str | Sequence[str]) -> list[str]:
        patterns = as_patterns(pattern)
        folder = self._folder(directory)
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            raise Fatal("folder does not exist (create it, or fix the channel's root)", where=str(folder)) from None
        except OSError as exc:
            raise _classify(exc, str(folder)) from None
        return sorted(e.name for e in entries if matches(e.name, patterns) and e.is_file())

    def open_read(self, directory: str, name: str) -> BinaryIO:
        path = self._folder(directory) / name
        try:
            return open(path, "rb", buffering=READ_BUFFER)
        except OSError as exc:
            raise _classify(exc, str(path)) from None

    def read_bytes(self, directory: str, name: str) -> bytes:
        with self.open_read(directory, name) as stream:
            return stream.read()

    def write_atomic(self, directory: str, name: str, data: bytes) -> None:
        folder = self._folder(directory)
        temporary = folder / temporary_name(name)
        with _failing_at(str(folder)):
            folder.mkdir(parents=True, exist_ok=True)
        try:
            with _failing_at(str(folder)), open(temporary, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            with _failing_at(str(folder / name)):
                os.replace(temporary, folder / name)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise
        with _failing_at(str(folder)):
            for leftover in folder.iterdir():
                if is_leftover(leftover.name, name):
                    leftover.unlink(missing_ok=True)

    def move(self, src_dir: str, name: str, dst_dir: str) -> str:
        source, target = self._folder(src_dir) / name, self._folder(dst_dir)
        with _failing_at(str(target)):
            target.mkdir(parents=True, exist_ok=True)
            final = free_name(name, {e.name for e in os.scandir(target)})
        try:
            os.replace(source, target / final)
        except OSError as exc:
            if not os.path.lexists(source):
                raise SourceMissing("the file is no longer there", where=str(source)) from None
            if exc.errno == errno.EXDEV:  # another filesystem: a rename cannot cross it
                _copy_across(source, target, final)
            elif exc.errno in REFUSED:
                raise _refused(exc, source, target) from None
            else:
                raise _classify(exc, f"{source} -> {target / final}") from None
        return final

    def exists(self, directory: str, name: str) -> bool:
        path = self._folder(directory) / name
        with _failing_at(str(path)):
            return path.exists()

    def close(self) -> None:
        return None


def _copy_across(source: Path, target: Path, final: str) -> None:
    """Move `source` to target/final on another filesystem: copy under a temporary name, sync, rename, then
    remove the source. A source that cannot be removed takes its copy back with it, so the file is never in
    both folders (a second pull would then archive a second copy)."""
    temporary = target / temporary_name(final)
    try:
        with _failing_at(str(source)):
            reading = open(source, "rb")  # noqa: SIM115 - closed below; its errors are the source's
        with reading, _failing_at(str(target)), open(temporary, "wb") as out:
            while True:
                with _failing_at(str(source)):
                    chunk = reading.read(READ_BUFFER)
                if not chunk:
                    break
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            shutil.copystat(source, temporary)  # processed/ keeps the time the file was dropped
        with _failing_at(str(target / final)):
            os.replace(temporary, target / final)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
    _sync_folder(target)
    try:
        source.unlink()
    except FileNotFoundError:
        log.info("%s was removed by someone else while it was copied to %s", source, target / final)
    except OSError as exc:
        with contextlib.suppress(OSError):
            (target / final).unlink()
        raise _classify(exc, str(source.parent)) from None


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so a rename in it survives a power cut (where the platform allows opening one)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def _refused(exc: OSError, source: Path, target: Path) -> Fatal | Retryable:
    """A rename refused: the target folder's fault when a file cannot be created in it, else the source's."""
    probe = target / temporary_name("write-probe")
    try:
        os.close(os.open(probe, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as refused:
        return _classify(refused, str(target))
    with contextlib.suppress(OSError):
        probe.unlink()
    return _classify(exc, str(source.parent))


@contextlib.contextmanager
def _failing_at(where: str) -> Iterator[None]:
    """OSError inside -> Fatal or Retryable whose `where` is the path this step works on."""
    try:
        yield
    except OSError as exc:
        raise _classify(exc, where) from None


def _classify(exc: OSError, where: str) -> Fatal | Retryable:
    """Missing files and refused permissions do not heal by waiting; anything else (a busy share) may."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError) or (
        exc.errno in REFUSED
    ):
        return Fatal(reason, where=where)
    return Retryable(reason, where=where)
