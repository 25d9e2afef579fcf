"""The Shopify channel's settings: the `[channels.settings]` table of a channel of kind "shopify"."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# A current stable quarterly version; pin your own in the config and move it forward each quarter.
DEFAULT_API_VERSION = "2026-10"
_VERSION = re.compile(r"^20\d\d-(01|04|07|10)$")
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def location_gid(value: str) -> str:
    """A location id as a GraphQL gid ("gid://shopify/Location/123"), from a gid or the bare number."""
    value = value.strip()
    if value.startswith("gid://shopify/Location/"):
        return value
    if value.isdigit():
        return f"gid://shopify/Location/{value}"
    raise ValueError(f"not a Shopify location id: {value!r} (a number or gid://shopify/Location/<n>)")


class ShopifySettings(BaseModel):
    """Which store, how to authenticate, and how the hub talks to it.

    `shop`: the store's myshopify domain ("acme" or "acme.myshopify.com"). `access_token`: an Admin API token
    (write it as "${SHOPIFY_TOKEN}" so it comes from the environment, or use the core's `access_token_file`).
    `client_secret`: the app's secret that signs webhooks. `location_id`: the Shopify location whose
    "available" quantity the hub sets (stock out needs it). `backfill_threshold`: on a first sync (no cursor),
    more orders than this are fetched with a bulk operation instead of paging.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    shop: str
    access_token: SecretStr
    api_version: str = DEFAULT_API_VERSION
    client_secret: SecretStr | None = None
    location_id: str | None = None
    notify_customer: bool = True
    inventory_reason: str = "correction"
    backfill_threshold: int = Field(default=2500, ge=0)
    page_size: int = Field(default=250, ge=1, le=250)
    timeout: float = Field(default=30.0, gt=0)
    # The longest pacing wait (for the cost bucket to refill) slept in-process; a longer one is RateLimited.
    max_throttle_wait: float = Field(default=60.0, gt=0)
    bulk_poll_interval: float = Field(default=5.0, gt=0)
    bulk_timeout: float = Field(default=3600.0, gt=0)

    @field_validator("shop")
    @classmethod
    def _shop(cls, value: str) -> str:
        name = value.strip().lower().removeprefix("https://").rstrip("/").removesuffix(".myshopify.com")
        if not _SHOP.match(name):
            raise ValueError(f"not a myshopify shop name: {value!r} (write 'acme' or 'acme.myshopify.com')")
        return f"{name}.myshopify.com"

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not _VERSION.match(value):
            raise ValueError(f"api_version must be a quarterly YYYY-MM release such as {DEFAULT_API_VERSION!r}")
        return value

    @field_validator("location_id")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return None if value is None else location_gid(value)

    @field_validator("access_token")
    @classmethod
    def _token(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("access_token is empty (is the environment variable set?)")
        return value

    @property
    def endpoint(self) -> str:
        return f"https://{self.shop}/admin/api/{self.api_version}/graphql.json"
