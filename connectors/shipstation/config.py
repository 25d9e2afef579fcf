"""The ShipStation channel's settings: the `[channels.settings]` table of a channel of kind "shipstation".

Sources (docs.shipstation.com, ShipStation V1 API): "Requirements" (host https://ssapi.shipstation.com, Basic
auth with the API Key as user name and the API Secret as password, 40 requests a minute per key and secret);
"Weight" model (units "pounds", "ounces" or "grams"); "List Shipments" (pageSize; at most 500 is what client
libraries document, UNCONFIRMED on the page itself, so the default stays at 100).
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_HOST = "https://ssapi.shipstation.com"


class ShipStationSettings(BaseModel):
    """How to reach the ShipStation account and what to send it.

    `webhook_secret` is the secret the receiver URL carries (ShipStation's webhooks are unsigned): register the
    webhooks at `https://<hub>/webhooks/<channel>?secret=<webhook_secret>`. `store_id` names the ShipStation
    store orders are created in (ShipStation's first manual store when unset) and filters what is pulled back.
    `duties_custom_field` names the order custom field that carries who pays the duties ("DDP: sender pays" /
    "DAP: recipient pays"): ShipStation v1 has no documented field for it, so an automation rule on that custom
    field sets "Bill duties and taxes to payor" (None: not sent). `customs_currency` is the currency customs
    values are declared in: ShipStation v1 documents them "in USD"; an account that declares in its own
    currency sets it, and a declaration in any other currency is refused rather than sent as the wrong amount.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr
    api_secret: SecretStr
    api_host: str = DEFAULT_HOST
    webhook_secret: SecretStr | None = None
    store_id: int | None = None
    weight_units: Literal["grams", "ounces", "pounds"] = "grams"
    customs_currency: str = "USD"
    duties_custom_field: Literal["customField1", "customField2", "customField3"] | None = "customField3"
    page_size: int = Field(default=100, ge=1, le=500)
    timeout: float = Field(default=30.0, gt=0)
    requests_per_minute: int = Field(default=40, ge=1)  # before the first answer says; the headers win after
    max_rate_wait: float = Field(default=65.0, gt=0)  # the longest limiter wait slept in-process; longer: RateLimited

    @field_validator("api_host")
    @classmethod
    def _host(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme != "https" or not parts.netloc or parts.path not in ("", "/") or parts.query:
            raise ValueError(f"api_host must be an https:// origin such as {DEFAULT_HOST}, not {value!r}")
        return f"{parts.scheme}://{parts.netloc.lower()}"

    @field_validator("api_key", "api_secret")
    @classmethod
    def _present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty (is the environment variable set?)")
        return value

    @field_validator("customs_currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return value.strip().upper()
