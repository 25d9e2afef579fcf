"""Shipments the store reports: the Shipment Tracking extension's items on the order -> ChannelShipment (pure).

The extension keeps its items in the order meta entry `_wc_shipment_tracking_items`, a list of

    {tracking_provider, custom_tracking_provider, custom_tracking_link, tracking_number, date_shipped, tracking_id}

(`WC_Shipment_Tracking_Actions::add_tracking_item`: `tracking_provider` is the slug of one of its predefined
carriers, or empty when `custom_tracking_provider` names the carrier and `custom_tracking_link` its tracking page;
`date_shipped` is a unix timestamp, stored as a string by `wc_clean`; `tracking_id` is an md5 it makes up once).
Advanced Shipment Tracking (zorem) writes the same entry. The link of a predefined carrier is not stored (the
extension builds it from its own table), so only a stored link (a custom carrier's) becomes a tracking URL.

What the hub writes agrees with what it reads: `tracking.TrackingPusher` posts either `tracking_provider`
(`tracking_providers[carrier]`, a slug) or `custom_tracking_provider` = the hub's carrier name; `carrier_names`
(the same setting inverted) turns the slug back into the hub's carrier here, so a shipment the hub pushed reads
back with its own carrier and tracking number. Only the time of day is lost (the extension keeps the date).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from channelhub.model.orders import ChannelShipment

TRACKING_META_KEY = "_wc_shipment_tracking_items"


def carrier_names(tracking_providers: Mapping[str, str]) -> dict[str, str]:
    """Extension provider slug -> hub carrier, from the setting that maps hub carrier -> slug."""
    return {slug: carrier for carrier, slug in tracking_providers.items()}


def channel_shipments(
    order: Mapping[str, Any], fallback_time: datetime, carriers: Mapping[str, str] | None = None
) -> tuple[ChannelShipment, ...]:
    """One ChannelShipment per tracking item (each for the whole order: the items name no lines). An item
    without a tracking number is skipped; one without a usable date takes `fallback_time` (the order's last
    change, the latest it can have shipped)."""
    carriers = carriers or {}
    out: list[ChannelShipment] = []
    seen: set[str] = set()
    for item in _tracking_items(order):
        number = str(item.get("tracking_number") or "").strip()
        if not number:
            continue
        external_id = str(item.get("tracking_id") or "").strip() or number
        if external_id in seen:
            continue
        seen.add(external_id)
        custom = str(item.get("custom_tracking_provider") or "").strip()
        slug = str(item.get("tracking_provider") or "").strip()
        link = str(item.get("custom_tracking_link") or "").strip()
        out.append(
            ChannelShipment(
                external_id=external_id,
                shipped_at=_shipped_at(item.get("date_shipped"), fallback_time),
                carrier=custom or carriers.get(slug, slug),
                tracking_numbers=(number,),
                tracking_urls=(link,) if link else (),
            )
        )
    return tuple(out)


def _tracking_items(order: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items: list[Mapping[str, Any]] = []
    for meta in order.get("meta_data") or ():
        if isinstance(meta, Mapping) and meta.get("key") == TRACKING_META_KEY:
            value = meta.get("value")
            if isinstance(value, Mapping):  # a PHP array with non-sequential keys arrives as an object
                value = list(value.values())
            items.extend(i for i in value or () if isinstance(i, Mapping))
    return items


def _shipped_at(value: Any, fallback: datetime) -> datetime:
    try:
        stamp = int(str(value).strip())
    except (TypeError, ValueError):
        return fallback
    if stamp <= 0:
        return fallback
    try:
        return datetime.fromtimestamp(stamp, UTC)
    except (OverflowError, OSError, ValueError):
        return fallback
