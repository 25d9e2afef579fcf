"""The validated config models; `load_config` builds them."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretBytes,
    SecretStr,
    field_serializer,
    field_validator,
    model_validator,
)

from channelhub.errors import ConfigError
from channelhub.model.limits import DEFAULT_MAX_LINE_QUANTITY, MAX_QUANTITY
from channelhub.model.orders import check_country
from channelhub.model.stock import BufferRules
from channelhub.plugins import Registry
from channelhub.ports import Capability, Connector
from channelhub.redact import redact_url
from channelhub.stock.policy import ChannelStockPolicy

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
LOCATION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
DEFAULT_DATABASE = "sqlite:///channelhub.db"
DEFAULT_LISTEN = "127.0.0.1:8787"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
MIN_TOKEN_LENGTH = 16
_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class InvalidConfig(ConfigError):
    """The config has problems; `problems` lists each one as `file: where: what`."""

    def __init__(self, problems: list[str], *, where: str = "") -> None:
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the configuration", where=where)

    def __str__(self) -> str:
        return "\n".join(self.problems)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyncSettings(_Strict):
    """`[sync]`: the pull overlap window, the dispatcher's tick and its retry policy.

    `wake_window_seconds`: a commit that enqueues wakes the dispatcher at once; it then waits this long for
    more commits to join the batch (0: no wait). `dispatch_seconds` stays the safety-net tick.
    """

    overlap_seconds: int = Field(default=300, ge=0)
    dispatch_seconds: float = Field(default=5, gt=0)
    wake_window_seconds: float = Field(default=0.2, ge=0, le=60)
    max_attempts: int = Field(default=8, ge=1)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_cap_seconds: float = Field(default=600.0, gt=0)
    lease_seconds: int = Field(default=120, gt=0)

    @model_validator(mode="after")
    def _cap_above_base(self) -> SyncSettings:
        if self.backoff_cap_seconds < self.backoff_base_seconds:
            raise ValueError("backoff_cap_seconds must not be below backoff_base_seconds")
        return self


class LogSettings(_Strict):
    """`[log]`: `level` (debug, info, warning, error) and `json` (one JSON object a line), read as `as_json`."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    as_json: bool = Field(default=False, alias="json")

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


def parse_listen(value: str) -> tuple[str, int]:
    """`host:port` -> (host, port); an IPv6 host is written in brackets (`[::1]:8787`) and returned without them.
    ValueError saying what is wrong otherwise. Port 0 asks the system for a free port (logged at start)."""
    if not isinstance(value, str) or not value:
        raise ValueError("must be host:port, e.g. 127.0.0.1:8787")
    usage = f"{value!r} must be host:port with a port from 0 to 65535, e.g. 127.0.0.1:8787 or [::1]:8787"
    if value.startswith("["):
        host, sep, port_text = value[1:].partition("]:")
        if not sep:
            raise ValueError(usage)
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"{value!r}: {host!r} in brackets is not an IPv6 address") from None
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            raise ValueError(usage)
        if ":" in host:
            raise ValueError(f"{value!r}: an IPv6 address goes in brackets, e.g. [::1]:8787")
        if not _HOST.match(host):
            raise ValueError(f"{value!r}: {host!r} is not a host name or IPv4 address")
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(usage)
    return host, int(port_text)


class HttpSettings(_Strict):
    """`[http]`: the HTTP app `channelhub run` serves beside the scheduler (`channelhub serve` alone).

    `listen` is `host:port` (IPv6 in brackets), loopback by default; `public_url` is the https address the
    channels reach the hub at (webhook registration); `token` (or `token_file`, a file holding it; `${ENV}`
    works too) guards every page and API call but /healthz, /readyz and the webhooks, and is never logged;
    `max_body_bytes` caps a webhook body (413 above it).
    """

    enabled: bool = True
    listen: str = DEFAULT_LISTEN
    public_url: str | None = None
    token: SecretStr | None = Field(default=None, repr=False)
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, gt=0)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        parse_listen(value)
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"{value!r} must be an https:// URL (the channels refuse plain http webhooks)")
        if parts.query or parts.fragment:
            raise ValueError(f"{value!r} must not carry a query or fragment")
        return value.rstrip("/")

    @field_validator("token")
    @classmethod
    def _token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < MIN_TOKEN_LENGTH:
            raise ValueError(f"must be at least {MIN_TOKEN_LENGTH} characters (a short token is guessable)")
        return value

    @property
    def host(self) -> str:
        return parse_listen(self.listen)[0]

    @property
    def port(self) -> int:
        return parse_listen(self.listen)[1]


class ShopSettings(_Strict):
    """`[shop]`: facts about the shop itself. `country` (ISO 3166-1 alpha-2) is where parcels leave from: an
    order shipping elsewhere is international and needs customs data for its SKUs. None (the default) turns the
    international checks off."""

    country: str | None = None

    @field_validator("country")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return check_country(value)
        except ValueError as exc:
            raise ValueError(f'{exc} (e.g. "DE", "US")') from None


class Location(_Strict):
    """`[[locations]]`: a stock location; a lower `priority` is picked first."""

    code: str = Field(pattern=LOCATION_PATTERN)
    name: str = ""
    priority: int = 0


class Schedule(_Strict):
    """`[channels.schedule]`: how often each job of the channel runs, in seconds."""

    pull_seconds: int = Field(default=60, gt=0)
    push_seconds: int = Field(default=10, gt=0)
    reconcile_seconds: int = Field(default=3600, gt=0)


class ChannelConfig(BaseModel):
    """One `[[channels]]` entry. `settings` is the table as written; the resolved values are on the properties."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    kind: str = Field(min_length=1)
    enabled: bool = True
    locations: tuple[str, ...] | None = None  # None: every location
    skus: tuple[str, ...] | None = None  # None: every SKU
    sku_map_file: str | None = None
    schedule: Schedule = Schedule()
    buffers: BufferRules = BufferRules()
    # What the reconcile job does with drift between the channel's listing and the hub (channels that can read
    # stock back): "report" logs it, "heal" also queues the hub's figure, "off" skips the job.
    reconcile: Literal["off", "report", "heal"] = "report"
    # A line quantity above this is quarantined, not reserved: a typo of 10,000 units would empty a warehouse.
    max_line_quantity: int = Field(default=DEFAULT_MAX_LINE_QUANTITY, ge=1, le=MAX_QUANTITY)
    # A line without a SKU that the channel does not mark as needing no stock: "hold" holds the order, naming the
    # line, until a SKU map entry gives it one; "no_stock" keeps it as a line that reserves nothing.
    unmapped_lines: Literal["hold", "no_stock"] = "hold"
    # Payment methods whose orders ship before they are paid (the channel's ids: WooCommerce "cod", "bacs"; a
    # Shopify gateway name): such an order is reserved and confirmed while its payment is still pending.
    ship_before_payment: tuple[str, ...] = ()
    settings: dict[str, Any] = Field(default_factory=dict)

    _connector_class: type[Connector] | None = PrivateAttr(default=None)
    _connector_config: BaseModel | None = PrivateAttr(default=None)
    _sku_map: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def connector_class(self) -> type[Connector]:
        if self._connector_class is None:
            raise ConfigError("channel was not loaded through load_config", where=f"channels[{self.name}]")
        return self._connector_class

    @property
    def connector_config(self) -> BaseModel:
        """The settings validated by the connector's `config_model` (secrets expanded, SecretStr where declared)."""
        if self._connector_config is None:
            raise ConfigError("channel was not loaded through load_config", where=f"channels[{self.name}]")
        return self._connector_config

    @property
    def sku_map(self) -> dict[str, str]:
        """Channel SKU -> hub SKU, from `sku_map_file` (empty when there is none)."""
        return dict(self._sku_map)

    @property
    def capabilities(self) -> frozenset[Capability]:
        return self.connector_class.capabilities


class HubConfig(BaseModel):
    """The whole validated config. Build it with `load_config`; it holds no secret in repr or dumps."""

    model_config = ConfigDict(extra="forbid")

    path: Path
    base_dir: Path
    database_url: str = Field(repr=False)  # may carry a password: dumped with it masked, never in repr
    connector_dirs: tuple[Path, ...] = ()
    mapping_dirs: tuple[Path, ...] = ()
    sync: SyncSettings = SyncSettings()
    log: LogSettings = LogSettings()
    http: HttpSettings = HttpSettings()
    shop: ShopSettings = ShopSettings()
    locations: tuple[Location, ...] = ()
    channels: tuple[ChannelConfig, ...] = ()

    _registry: Registry | None = PrivateAttr(default=None)
    _secrets: frozenset[str] = PrivateAttr(default=frozenset())

    @field_serializer("database_url")
    def _mask_password(self, url: str) -> str:
        return redact_url(url)

    @property
    def registry(self) -> Registry:
        """The plugin registry the channels were validated against."""
        return self._registry if self._registry is not None else Registry()

    def channel(self, name: str) -> ChannelConfig:
        """The channel called `name`; ConfigError naming the configured channels when there is none."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels) or "none"
        raise ConfigError(f"no channel named {name!r} (configured: {known})", where=str(self.path))

    def stock_policies(self) -> list[ChannelStockPolicy]:
        """A policy for every enabled channel whose connector declares push_stock."""
        return [
            ChannelStockPolicy(
                channel=c.name,
                buffers=c.buffers,
                locations=c.locations,
                skus=frozenset(c.skus) if c.skus is not None else None,
            )
            for c in self.channels
            if c.enabled and Capability.PUSH_STOCK in c.capabilities
        ]

    def secret_values(self) -> frozenset[str]:
        """Every value that must never be shown: each SecretStr in a connector config, each value expanded from
        `${ENV}`, each secret read from a `*_file`, the database password and the HTTP token."""
        found = set(self._secrets)
        found.update(secret_strings(self.http))
        for channel in self.channels:
            if channel._connector_config is not None:
                found.update(secret_strings(channel._connector_config))
        return frozenset(v for v in found if v)


class ConfigFile(_Strict):
    """The top level of the file; channels are validated one by one so every channel's problems are reported."""

    database: str = DEFAULT_DATABASE
    connector_dirs: list[str] = Field(default_factory=list)
    mapping_dirs: list[str] | None = None
    sync: SyncSettings = SyncSettings()
    log: LogSettings = LogSettings()
    http: HttpSettings = HttpSettings()
    shop: ShopSettings = ShopSettings()
    locations: list[Location] = Field(default_factory=list)
    channels: list[dict[str, Any]] = Field(default_factory=list)


def secret_strings(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, SecretBytes):
        yield value.get_secret_value().decode("utf-8", "replace")
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from secret_strings(getattr(value, name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from secret_strings(item)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from secret_strings(item)
