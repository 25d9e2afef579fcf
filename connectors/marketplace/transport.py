"""File transports: the few file operations the marketplace connector needs, over a local folder or SFTP.

Folders are names relative to the transport's root ("inbox", "outbox"). Every method raises only
`channelhub.errors.ConnectorError` subclasses: Retryable for a transient failure (network, a dropped
connection), Fatal for one that retrying cannot fix (a missing folder, permission denied, bad login).
"""

from __future__ import annotations

import fnmatch
import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from channelhub.errors import Fatal, Retryable

READ_BUFFER = 1 << 20


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
        the same name there is kept: the moved one gets `<stem>~<n><suffix>`."""
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
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, folder / name)
            for leftover in folder.iterdir():
                if is_leftover(leftover.name, name):
                    leftover.unlink(missing_ok=True)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise _classify(exc, str(folder / name)) from None

    def move(self, src_dir: str, name: str, dst_dir: str) -> str:
        target = self._folder(dst_dir)
        try:
            target.mkdir(parents=True, exist_ok=True)
            final = free_name(name, {e.name for e in os.scandir(target)})
            os.replace(self._folder(src_dir) / name, target / final)
        except OSError as exc:
            raise _classify(exc, self.location(src_dir, name)) from None
        return final

    def exists(self, directory: str, name: str) -> bool:
        return (self._folder(directory) / name).exists()

    def close(self) -> None:
        return None


def _classify(exc: OSError, where: str) -> Fatal | Retryable:
    """Missing files and refused permissions do not heal by waiting; anything else (a busy share) may."""
    reason = exc.strerror or str(exc)
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        return Fatal(reason, where=where)
    return Retryable(reason, where=where)
