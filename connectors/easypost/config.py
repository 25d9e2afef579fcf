"""The EasyPost channel's settings: the `[channels.settings]` table of a channel of kind "easypost"."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_API_BASE = "https://api.easypost.com/v2"
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class EasyPostSettings(BaseModel):
    """How to reach EasyPost and what to follow there.

    `api_key`: a test or production key (EZTK.../EZAK...), written as "${EASYPOST_API_KEY}" or `api_key_file`.
    `webhook_secret`: the secret given to the EasyPost webhook that posts to the hub; without it every delivery
    is refused (an unsigned webhook could come from anyone). `carriers`: the hub's carrier name -> EasyPost's
    ("ups" -> "UPS", "dhl" -> "DHLExpress"); a name not listed is sent as it is, and an empty one is left out so
    EasyPost detects the carrier from the number. `poll_window_days`: the polling job reads the trackers created
    in this many days (EasyPost filters a list by creation time only, not by update); None reads them all.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr
    webhook_secret: SecretStr | None = None
    api_base: str = DEFAULT_API_BASE
    timeout: float = Field(default=30.0, gt=0)
    connect_timeout: float = Field(default=10.0, gt=0)
    page_size: int = Field(default=100, ge=1, le=100)  # EasyPost's maximum page is 100
    poll_window_days: int | None = Field(default=90, ge=1)
    carriers: dict[str, str] = Field(default_factory=dict)

    @field_validator("api_key")
    @classmethod
    def _key(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("api_key is empty (is the environment variable set?)")
        return value

    @field_validator("api_base")
    @classmethod
    def _base(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"api_base must be an https:// URL, not {value!r}")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ValueError("api_base is plain http://: the API key would travel in the clear; use https://")
        if parts.query or parts.fragment:
            raise ValueError("api_base must not carry a query or fragment")
        return value.strip().rstrip("/")

    def easypost_carrier(self, hub_carrier: str) -> str:
        """EasyPost's name for the hub's carrier (the map's entry, else the name as it is)."""
        name = hub_carrier.strip()
        return self.carriers.get(name, name)

    def hub_carrier(self, easypost_carrier: str) -> str:
        """The hub's name for a carrier EasyPost reports (the map read backwards, else EasyPost's name)."""
        for hub, theirs in self.carriers.items():
            if theirs == easypost_carrier:
                return hub
        return easypost_carrier
