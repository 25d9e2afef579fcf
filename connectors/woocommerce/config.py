"""The WooCommerce channel's settings: the `[channels.settings]` table of a channel of kind "woocommerce"."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class WooCommerceSettings(BaseModel):
    """How to reach the store and what to do there.

    `store_url` is the site's root (https://shop.example.com, or a sub-folder install). The consumer key and
    secret come from WooCommerce > Settings > Advanced > REST API, with Read/Write permission; write them as
    `${ENV}` references or `consumer_key_file` / `consumer_secret_file` (the core config resolves both).
    A plain-HTTP URL is refused unless `allow_insecure_http` is true: the keys would travel in the clear
    (over HTTP the `woocommerce` package signs with OAuth 1.0a instead of basic auth).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    store_url: str
    consumer_key: SecretStr
    consumer_secret: SecretStr
    webhook_secret: SecretStr | None = None  # the secret set on the store's webhooks; needed to accept them
    query_string_auth: bool = False  # for hosts that strip the Authorization header
    allow_insecure_http: bool = False
    verify_ssl: bool = True
    timeout: float = Field(default=30.0, gt=0)
    per_page: int = Field(default=100, ge=1, le=100)  # WooCommerce answers 400 rest_invalid_param above 100

    # Tracking out.
    shipment_tracking: bool = False  # the Shipment Tracking extension is installed: use its endpoint
    tracking_providers: dict[str, str] = Field(default_factory=dict)  # hub carrier -> extension provider name
    customer_note: bool = True  # without the extension: the tracking note is shown (and mailed) to the customer
    complete_when_shipped: bool = True  # set status completed once every line has shipped

    @field_validator("store_url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError(f"store_url must be an https:// URL of the store, not {value!r}")
        if parts.query or parts.fragment:
            raise ValueError("store_url must not carry a query or fragment")
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _https(self) -> WooCommerceSettings:
        if self.store_url.startswith("http://") and not self.allow_insecure_http:
            raise ValueError(
                "store_url is plain http://: the consumer key and secret would travel in the clear; "
                "use https:// or set allow_insecure_http = true explicitly"
            )
        return self
