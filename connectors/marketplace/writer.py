"""Outbound files: the stock feed and the shipping confirmation, rendered from a layout.

Names are deterministic: a hash of the idempotency keys, so a retry after a crash rewrites the same file
instead of adding a second one. Content is deterministic too (rows sorted by SKU in a stock feed).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence

from channelhub_connectors.marketplace.layouts import Layout

from channelhub.ports import FulfillmentRequest, StockUpdate

OTHER_CARRIER = "Other"


def file_name(prefix: str, keys: Iterable[str], layout: Layout) -> str:
    """`<prefix>-<16 hex>.<tsv|csv>`, from the sorted idempotency keys."""
    digest = hashlib.sha256("\n".join(sorted(keys)).encode("utf-8")).hexdigest()[:16]
    return f"{prefix}-{digest}.{'tsv' if layout.delimiter == chr(9) else 'csv'}"


def _cell_problem(value: str, layout: Layout, encoding: str) -> str | None:
    if not layout.quoting and (layout.delimiter in value or "\n" in value or "\r" in value):
        return f"{value!r} holds the delimiter or a line break, which layout {layout.name!r} cannot quote"
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        return f"{value!r} cannot be written in {encoding}"
    return None


def render(layout: Layout, rows: Sequence[Mapping[str, str]], encoding: str) -> bytes:
    """Header (the layout's columns in order) and one line per row; a row gives values by canonical field, and
    a column it has no value for takes the layout's default (else empty)."""
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=layout.delimiter,
        lineterminator="\r\n" if layout.quoting else "\n",
        quoting=csv.QUOTE_MINIMAL if layout.quoting else csv.QUOTE_NONE,
        escapechar=None,
    )
    writer.writerow(list(layout.columns))
    for row in rows:
        writer.writerow([row.get(name, layout.defaults.get(column, "")) for column, name in layout.columns.items()])
    return buffer.getvalue().encode(encoding)


def stock_feed(
    updates: Sequence[StockUpdate], layout: Layout, encoding: str
) -> tuple[bytes | None, dict[str, int], dict[str, str]]:
    """(file content or None when no row is writable, quantity written per SKU, reason per refused key).

    An SKU listed twice in one batch is written once, with the last quantity given for it.
    """
    refused: dict[str, str] = {}
    written: dict[str, int] = {}
    for update in updates:
        problem = _cell_problem(update.sku, layout, encoding) if update.sku else "empty sku"
        if problem is None and update.quantity < 0:
            problem = f"negative quantity {update.quantity}"
        if problem is not None:
            refused[update.idempotency_key] = problem
            continue
        written[update.sku] = update.quantity
    if not written:
        return None, written, refused
    rows = [{"sku": sku, "quantity": str(written[sku])} for sku in sorted(written)]
    return render(layout, rows, encoding), written, refused


def shipment_confirmation(request: FulfillmentRequest, layout: Layout, encoding: str) -> bytes:
    """One row per shipped line (order-item-id = the channel's line id). A shipment without lines means every
    unshipped unit: one row per known channel line with an empty quantity (the channel ships the rest), or a
    single row for the whole order when no line ids are known.

    ValueError when a shipped SKU has no channel line id or a value cannot be written."""
    shipment = request.shipment
    carrier = shipment.carrier.strip()
    base = {
        "order_id": request.order_external_id,
        "ship_date": shipment.shipped_at.replace(microsecond=0).isoformat(),  # whole seconds, as feeds carry it
        "carrier_code": layout.carrier_codes.get(carrier.lower(), OTHER_CARRIER),
        "carrier_name": carrier,
        "tracking_number": shipment.tracking_number,
        "ship_method": shipment.service,
    }
    rows: list[dict[str, str]] = []
    if shipment.lines:
        for line in shipment.lines:
            line_id = request.line_external_ids.get(line.sku)
            if not line_id:
                raise ValueError(
                    f"order {request.order_external_id}: no channel line id for SKU {line.sku!r} "
                    f"(known: {', '.join(sorted(request.line_external_ids)) or 'none'})"
                )
            rows.append({**base, "line_id": line_id, "quantity": str(line.quantity)})
    elif request.line_external_ids:
        rows = [{**base, "line_id": lid, "quantity": ""} for _, lid in sorted(request.line_external_ids.items())]
    else:
        rows = [{**base, "line_id": "", "quantity": ""}]
    for row in rows:
        for value in row.values():
            problem = _cell_problem(value, layout, encoding)
            if problem is not None:
                raise ValueError(f"order {request.order_external_id}: {problem}")
    return render(layout, rows, encoding)
