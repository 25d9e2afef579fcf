"""The marketplace channel's settings: the `[channels.settings]` table of a channel of kind "marketplace"."""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from channelhub.model.money import check_currency

# Characters a flat file's structure is made of: an encoding must write them as the same single bytes, or
# splitting the raw bytes into lines (which keeps a bad byte's damage to its own row) would cut characters apart.
_STRUCTURE = '\t\n\r,;|" '


class MarketplaceSettings(BaseModel):
    """Where the files are, how they are laid out and, for SFTP, how to log in.

    Local folders (`transport = "local"`): `root` is a folder; a relative one resolves against the directory of
    the config file. SFTP: `remote_root` is a directory on the server (relative: from the login directory).
    Under the root: `inbox` (order files to import), `processed` (imported files, moved there after the import
    is committed) and `outbox` (stock and shipping confirmation files the hub writes).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    transport: Literal["local", "sftp"] = "local"
    root: Path = Path("marketplace")
    inbox: str = "inbox"
    processed: str = "processed"
    outbox: str = "outbox"
    patterns: tuple[str, ...] = ("*.tsv", "*.csv", "*.txt")

    orders_layout: str = "generic_orders"
    stock_layout: str = "amazon_price_quantity"
    shipment_layout: str = "amazon_shipping_confirmation"
    currency: str | None = None  # for layouts whose rows carry no currency; wins over the layout's default
    encoding: str = "utf-8"  # decoded strictly: a row not valid in it is quarantined, never guessed at
    page_size: int = Field(default=5000, ge=1)  # orders per page for large files

    # SFTP
    host: str | None = None
    port: int = Field(default=22, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    key_file: Path | None = None
    key_passphrase: SecretStr | None = None
    known_hosts: Path = Path("~/.ssh/known_hosts")
    allow_unknown_hosts: bool = False
    remote_root: str = "."
    timeout: float = Field(default=30.0, gt=0)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else check_currency(value)

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            name = codecs.lookup(value).name
            if name == "utf-8-sig":  # a leading byte order mark is stripped anyway
                name = "utf-8"
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        if _STRUCTURE.encode(name, errors="replace") != _STRUCTURE.encode("ascii"):
            raise ValueError(f"encoding {value!r} is not ASCII-compatible; flat files must be (utf-8, cp1252, ...)")
        return name

    @field_validator("inbox", "processed", "outbox")
    @classmethod
    def _folder(cls, value: str) -> str:
        if not value or value.startswith("/") or ".." in Path(value).parts:
            raise ValueError(f"must be a folder name under the root, not {value!r}")
        return value

    @model_validator(mode="after")
    def _sftp_login(self) -> MarketplaceSettings:
        if self.transport == "sftp":
            if not self.host or not self.username:
                raise ValueError('transport = "sftp" needs host and username')
            if self.password is None and self.password_file is None and self.key_file is None:
                raise ValueError('transport = "sftp" needs one of password, password_file or key_file')
        if len({self.inbox, self.processed, self.outbox}) != 3:
            raise ValueError("inbox, processed and outbox must be three different folders")
        return self

    def local_root(self, base_dir: Path) -> Path:
        root = self.root.expanduser()
        return root if root.is_absolute() else base_dir / root

    def resolve(self, path: Path, base_dir: Path) -> Path:
        """A file setting (password_file, key_file, known_hosts) made absolute: ~ expanded, relative to base_dir."""
        path = path.expanduser()
        return path if path.is_absolute() else base_dir / path
