"""The connector contract: what a channel plugin declares and the methods the engine calls.

A connector is a class with

- `kind`: the name a config's `[[channels]] kind = "..."` uses;
- `capabilities`: the set of `Capability` values it implements (the engine plans jobs from this and never probes);
- `config_model`: a pydantic model of its `[channels.settings]` table;
- `limits`: its batch limits;

and, for each declared capability, the method below. A connector receives its transport or HTTP client through
`ConnectorContext` (tests inject one) and never opens a database session: the engine stores, maps, applies and
retries. Connectors raise only `channelhub.errors.ConnectorError` subclasses, classifying vendor failures at
their boundary (Retryable, RateLimited, Fatal, Skippable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from channelhub.errors import ConfigError
from channelhub.model.customs import CustomsDeclaration
from channelhub.model.orders import Order
from channelhub.model.shipments import Shipment
from channelhub.model.tracking import TrackingUpdate

SettingsT = TypeVar("SettingsT", bound=BaseModel)


class Capability(StrEnum):
    PULL_ORDERS = "pull_orders"
    PUSH_STOCK = "push_stock"
    PUSH_FULFILLMENT = "push_fulfillment"
    PULL_TRACKING = "pull_tracking"
    PUSH_REFUND = "push_refund"
    PUSH_CANCELLATION = "push_cancellation"
    PULL_STOCK = "pull_stock"
    WEBHOOKS = "webhooks"
    WEBHOOK_SUBSCRIPTIONS = "webhook_subscriptions"
    FULFILL_ORDERS = "fulfill_orders"  # a shipping platform or warehouse: takes confirmed orders, reports shipments
    CREATE_TRACKERS = "create_trackers"  # a tracking service: follows a parcel by its carrier and number


# Which method each capability obliges a connector to implement (checked at load by plugins.validate).
REQUIRED_METHODS: dict[Capability, tuple[str, ...]] = {
    Capability.PULL_ORDERS: ("pull_orders", "map_order"),
    Capability.PUSH_STOCK: ("push_stock",),
    Capability.PUSH_FULFILLMENT: ("push_fulfillment",),
    Capability.PULL_TRACKING: ("pull_tracking", "map_tracking"),
    Capability.PUSH_REFUND: ("push_refund",),
    Capability.PUSH_CANCELLATION: ("push_cancellation",),
    Capability.PULL_STOCK: ("pull_stock",),
    Capability.WEBHOOKS: ("verify_webhook", "read_webhook", "parse_webhook"),
    Capability.WEBHOOK_SUBSCRIPTIONS: ("list_webhooks", "register_webhooks", "remove_webhooks"),
    Capability.FULFILL_ORDERS: ("push_fulfillment_order", "cancel_fulfillment_order", "pull_shipments", "map_shipment"),
    Capability.CREATE_TRACKERS: ("create_tracker",),
}


@dataclass(frozen=True)
class BatchLimits:
    """How much one call may carry. The dispatcher never sends more."""

    stock_per_call: int = 100
    fulfillments_per_call: int = 1


@dataclass(frozen=True)
class RawRecord:
    """One payload as received, before mapping; stored in the inbox first, exactly as it came.

    `source` says where it came from in words a person can follow ("inbox/orders-1.tsv lines 12-14",
    "webhook 9f1c..."). `problem` is set when the connector could not even parse the record (a malformed row,
    bad encoding): the engine quarantines it as it is, with that reason.
    """

    stream: str
    source: str
    body: str
    external_id: str | None = None
    problem: str | None = None
    delivery_id: str | None = None  # a webhook's delivery id, for deduplication


@dataclass
class PulledPage:
    """A page of records. The engine commits the page's orders and `cursor` in one transaction, then calls
    `on_committed` (a flat-file connector moves its file to processed/ there)."""

    records: list[RawRecord]
    cursor: str | None = None
    on_committed: Callable[[], None] | None = None
    label: str = ""  # what this page is, for logs and progress ("orders-1.tsv")
    content_hash: str | None = None  # a whole-file hash: a page already imported under this hash is skipped


@dataclass(frozen=True)
class PullRequest:
    """Ask for everything changed since `cursor` (None: from the beginning), less `overlap`."""

    cursor: str | None
    overlap: timedelta
    now: datetime


@dataclass(frozen=True)
class StockUpdate:
    """Set the channel's listed quantity of `sku` to `quantity`.

    `previous` is the last quantity the channel confirmed (None when never confirmed), for compare-and-set APIs.
    """

    sku: str
    quantity: int
    idempotency_key: str
    previous: int | None = None


@dataclass(frozen=True)
class FulfillmentRequest:
    """Tell the channel that (some of) an order shipped."""

    order_external_id: str
    order_number: str
    shipment: Shipment
    line_external_ids: Mapping[str, str]  # sku -> the channel's line id for this order
    idempotency_key: str
    # True when, with this shipment, every unit of the order has shipped (the hub counts earlier shipments);
    # None when not known (a row queued before the hub recorded it). Channels that close orders use it.
    completes_order: bool | None = None


@dataclass(frozen=True)
class RefundRequest:
    order_external_id: str
    amount: str  # decimal string in the order's shop currency
    currency: str
    reason: str
    lines: tuple[tuple[str, int], ...]  # (channel line id, quantity)
    idempotency_key: str


@dataclass(frozen=True)
class CancellationRequest:
    """Tell the channel that the hub cancelled an order (never sent for a cancellation the channel reported)."""

    order_external_id: str
    order_number: str
    reason: str
    idempotency_key: str


@dataclass(frozen=True)
class FulfillmentOrderRequest:
    """Hand a confirmed order to a fulfilment provider (a shipping platform, a warehouse).

    `order_key` is the hub's deterministic name for the order at the provider ("<channel>:<external id>"): a
    repeat with the same key updates the provider's order, never makes a second. `weights_grams` and `customs`
    come from the SKU master data (`customs` only for an order shipping to another country than the shop's)."""

    order_key: str
    order: Order
    idempotency_key: str
    weights_grams: Mapping[str, int] = field(default_factory=dict)  # hub SKU -> grams per unit
    customs: CustomsDeclaration | None = None


@dataclass(frozen=True)
class FulfillmentOrderResult:
    """What the provider made of it: its own id for the order and its status in its own words."""

    provider_order_id: str
    status: str
    updated: bool = False  # True when the key named an order the provider already had


@dataclass(frozen=True)
class ProviderShipment:
    """A shipment a provider reports, for the order the hub sent it under `order_key`. `voided` is a label the
    provider voided after it was made (the units did not leave: the hub takes the shipment back)."""

    order_key: str
    shipment: Shipment
    voided: bool = False


@dataclass(frozen=True)
class TrackerRequest:
    """Follow one parcel at a tracking service. Repeating it with the same key (or the same carrier and number)
    must not make a second tracker."""

    carrier: str
    tracking_number: str
    idempotency_key: str


@dataclass(frozen=True)
class WebhookDelivery:
    """A verified webhook delivery as read from its headers, before anything is stored (no I/O).

    `accepted` is False for a delivery the hub does not take (a ping, a topic it does not subscribe to): it is
    answered 200 and not stored. `headers` are those `parse_webhook` needs, kept with the raw body.
    """

    topic: str
    delivery_id: str | None
    accepted: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class WebhookSubscription:
    """One webhook subscription as the channel holds it: its `id` there, the channel's `topic` name
    ("ORDERS_CREATE", "order.created"), the `address` it delivers to, and `status` in the channel's word
    ("active", "paused", "disabled"; None where the channel has no such notion, as Shopify)."""

    id: str
    topic: str
    address: str
    status: str | None = None


@dataclass(frozen=True)
class WriteResult:
    """Per-item outcome of a batched write. `error` set means failed; `retryable` says whether to try again."""

    idempotency_key: str
    error: str | None = None
    retryable: bool = False
    confirmed_quantity: int | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ConnectorContext:
    """What the engine hands a connector: its name, where its config lives, and injectable transports."""

    channel: str
    base_dir: Path = field(default_factory=Path.cwd)
    mapping_dirs: Sequence[Path] = ()
    transport: Any = None  # a file transport (local folder, SFTP) or an HTTP client/session, tests inject one
    sku_map: Mapping[str, str] = field(default_factory=dict)  # channel SKU -> hub SKU


class Connector:
    """Base class of every connector. Subclasses set the class attributes and implement declared methods.

    Method contracts:

    pull_orders(request) -> Iterator[PulledPage]
        Everything changed since `request.cursor` less `request.overlap`. May repeat records (the engine's
        apply is idempotent); must not skip any. Pages are committed in the order yielded.
    map_order(record) -> Order
        Map one raw record to the canonical order. Raise MappingError (with the reason) when it does not map.
        Pure: no I/O.
    inspect(filename, data, options) -> Iterator[RawRecord]
        Turn a saved payload or file into records for `channelhub inspect`, with no network and no database.
    push_stock(updates) -> list[WriteResult]
        Set listed quantities; at most `limits.stock_per_call` updates. One result per update, in any order.
        Raise a ConnectorError for a failure of the whole call. Must be safe to repeat with the same keys.
    push_fulfillment(request) -> None
        Record a shipment at the channel. Repeating it with the same idempotency key must not ship twice.
    push_refund(request) -> None
        Same contract for refunds.
    push_cancellation(request) -> None
        Cancel the order at the channel. An order the channel already shows as cancelled counts as done, so a
        repeat (same idempotency key, or after a restart) cancels nothing twice. Raise Skippable when the channel
        refuses to cancel it (already fulfilled, say): the write goes dead at once with that reason.
    pull_stock(skus) -> dict[str, int]
        The channel's current listed quantities, for reconcile.
    push_fulfillment_order(request) -> FulfillmentOrderResult
        Hand a confirmed order to the provider under `request.order_key` (create, or update the one the key
        names: never two). Raise Skippable when the provider refuses the order (the hub holds it with the
        reason) or will not take an update any more (shipped there already: the change is reported, not forced).
    cancel_fulfillment_order(request: CancellationRequest) -> None
        Cancel the order at the provider (`order_external_id` is the order key). One already cancelled there
        counts as done; Skippable when it shipped.
    pull_shipments(request) -> Iterator[PulledPage]
        The provider's shipments (and voided labels) changed since the cursor, as raw records of stream
        "shipments"; `map_shipment(record) -> ProviderShipment` maps one (MappingError when it does not).
    pull_tracking(request) -> Iterator[PulledPage]
        Tracker reports changed since the cursor, as raw records of stream "trackers"; `map_tracking(record) ->
        TrackingUpdate` maps one (pure; MappingError when it does not). Webhooks of a tracking service yield
        the same records from `parse_webhook`.
    create_tracker(request) -> TrackingUpdate
        Start following a parcel; the answer is the tracker's first report. Safe to repeat.
    verify_webhook(headers, raw_body) -> bool
        Check the signature in constant time. `headers` are the request's, case-insensitive, plus
        `X-Channelhub-Query`, the receiver URL's raw query string, set by the hub (never taken from the caller),
        for a channel that signs nothing and authenticates by a secret in the URL it was given.
    read_webhook(headers, raw_body) -> WebhookDelivery
        What a receiver learns from a verified delivery without any I/O, before it answers: its topic, delivery
        id, whether the hub takes that topic, and the headers `parse_webhook` will need (never a signature).
    parse_webhook(headers, raw_body) -> list[RawRecord]
        Records for the same apply path as polling (with `delivery_id` set). Runs after the delivery was stored
        and answered, so it may do I/O (fetch the order a refund belongs to, look up a SKU).
    list_webhooks() -> list[WebhookSubscription]
        Every webhook subscription the channel holds for these credentials (the hub's and any other).
    register_webhooks(url) -> list[WebhookSubscription]
        Subscribe `url` to each topic the connector's webhooks take. Idempotent: a topic already subscribed at
        `url` is not subscribed twice (a second call creates nothing). Returns the subscriptions at `url` for the
        hub's topics as they are now, new and old.
    remove_webhooks(url) -> list[WebhookSubscription]
        Delete every subscription that delivers to `url` (whatever its topic), and return those removed; none
        there is not an error. Subscriptions to other addresses are left alone.
    preflight() -> list[str]
        Problems the connector's first job would meet that can be found now, without the network: a local
        folder that does not exist, a key file that cannot be read. `channelhub config check` and `channelhub
        run` refuse to start on any (exit 2). The default finds none.
    close() -> None
        Release transports.
    """

    kind: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]
    config_model: ClassVar[type[BaseModel]]
    limits: ClassVar[BatchLimits] = BatchLimits()

    def __init__(self, config: BaseModel, context: ConnectorContext) -> None:
        self.config = config
        self.context = context

    @property
    def channel(self) -> str:
        return self.context.channel

    # Methods a connector implements for the capabilities it declares. The defaults refuse loudly.
    def pull_orders(self, request: PullRequest) -> Iterator[PulledPage]:
        raise NotImplementedError

    def map_order(self, record: RawRecord) -> Order:
        raise NotImplementedError

    def inspect(self, filename: str, data: bytes, options: Mapping[str, str]) -> Iterator[RawRecord]:
        raise NotImplementedError(f"{self.kind} cannot inspect saved payloads")

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        raise NotImplementedError

    def push_fulfillment(self, request: FulfillmentRequest) -> None:
        raise NotImplementedError

    def push_refund(self, request: RefundRequest) -> None:
        raise NotImplementedError

    def push_cancellation(self, request: CancellationRequest) -> None:
        raise NotImplementedError

    def pull_stock(self, skus: Iterable[str]) -> dict[str, int]:
        raise NotImplementedError

    def push_fulfillment_order(self, request: FulfillmentOrderRequest) -> FulfillmentOrderResult:
        raise NotImplementedError

    def cancel_fulfillment_order(self, request: CancellationRequest) -> None:
        raise NotImplementedError

    def pull_shipments(self, request: PullRequest) -> Iterator[PulledPage]:
        raise NotImplementedError

    def map_shipment(self, record: RawRecord) -> ProviderShipment:
        raise NotImplementedError

    def pull_tracking(self, request: PullRequest) -> Iterator[PulledPage]:
        raise NotImplementedError

    def map_tracking(self, record: RawRecord) -> TrackingUpdate:
        raise NotImplementedError

    def create_tracker(self, request: TrackerRequest) -> TrackingUpdate:
        raise NotImplementedError

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        raise NotImplementedError

    def read_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
        raise NotImplementedError

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[RawRecord]:
        raise NotImplementedError

    def list_webhooks(self) -> list[WebhookSubscription]:
        raise NotImplementedError

    def register_webhooks(self, url: str) -> list[WebhookSubscription]:
        raise NotImplementedError

    def remove_webhooks(self, url: str) -> list[WebhookSubscription]:
        raise NotImplementedError

    def preflight(self) -> list[str]:
        return []

    def close(self) -> None:
        return None


def settings_as(model: type[SettingsT], config: BaseModel | Mapping[str, Any], channel: str) -> SettingsT:
    """A connector's settings as its own `model`, from a validated model or a plain mapping (tests, inspect).

    A mapping that does not validate raises ConfigError naming the channel and the first bad key, so a connector
    built by hand fails the way a config file does.
    """
    if isinstance(config, model):
        return config
    data = config.model_dump(exclude_unset=True) if isinstance(config, BaseModel) else dict(config)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(first["msg"], where=f"channel {channel}: settings.{key}") from None


class EmptySettings(BaseModel):
    """Settings model for connectors that need none."""

    model_config = ConfigDict(extra="forbid")


def hub_sku(
    sku_map: Mapping[str, str], channel_sku: str | None, *, variant_id: str = "", product_id: str = "", title: str = ""
) -> str | None:
    """The hub SKU of a line, through the channel's SKU map (one rule for every connector).

    A line with a channel SKU maps by it (a SKU the map lacks is the hub's SKU as it is). A line WITHOUT one (a
    Shopify custom item, a WooCommerce product nobody gave a SKU) maps by the first of `variant:<id>`,
    `product:<id>`, `title:<title>` the map holds, so a merchant can give it a SKU without touching the channel;
    None when none is there (the order is held, naming the line, until an entry is added and it is replayed).
    """
    sku = (channel_sku or "").strip()
    if sku:
        return sku_map.get(sku, sku)
    for key in (f"variant:{variant_id}" if variant_id else "", f"product:{product_id}" if product_id else "",
                f"title:{title.strip()}" if title.strip() else ""):  # fmt: skip
        if key and key in sku_map:
            return sku_map[key]
    return None
