"""Orders: list, show, and `ship` (record a shipment the same way a carrier feed would)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from channelhub.cli.app import app
from channelhub.cli.common import console, fail, fmt_time, handle_errors, open_hub
from channelhub.cli.views import find_order, list_orders, order_detail
from channelhub.model.lifecycle import OrderState
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.runtime import Hub
from channelhub.sync.fulfil import ShipmentResult, record_shipment

orders_app = typer.Typer(help="Look at orders.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")


@orders_app.command("list")
@handle_errors
def orders_list(
    ctx: typer.Context,
    state_: Annotated[str | None, typer.Option("--state", help="placed, on_hold, confirmed, shipped, ...")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many, newest first.")] = 200,
) -> None:
    """Orders, newest first, with their state and why they are held."""
    states = [s.value for s in OrderState]
    if state_ is not None and state_ not in states:
        raise fail(f"--state must be one of {', '.join(states)}", 2)
    with open_hub(ctx) as hub, hub.db.transaction() as session:
        rows = list_orders(session, state=state_, channel=channel, limit=limit)
        table = Table(title=f"orders ({len(rows)})")
        for column in ("id", "channel", "external id", "number", "state", "total", "placed", "hold reason"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                str(row.id),
                row.channel,
                row.external_id,
                row.number,
                row.state,
                f"{row.total} {row.currency}",
                fmt_time(row.placed_at),
                row.hold_reason,
            )
    console.print(table)


@orders_app.command("show")
@handle_errors
def orders_show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Hub order id, or CHANNEL:EXTERNAL_ID.")],
) -> None:
    """One order: lines, lifecycle events, shipments and hold reason."""
    with open_hub(ctx) as hub, hub.db.transaction() as session:
        d = order_detail(session, ref)
        o = d.order
        console.print(f"order {o.id}  {o.channel}:{o.external_id}  #{o.number}", markup=False)
        console.print(f"  state: {o.state}", markup=False)
        if o.hold_reason:
            console.print(f"  hold reason: {o.hold_reason}", markup=False)
        console.print(f"  payment: {o.financial_status}   total: {o.total} {o.currency}", markup=False)
        console.print(f"  placed: {fmt_time(o.placed_at)}   updated at channel: {fmt_time(o.channel_updated_at)}")
        lines = Table(title="lines")
        for column in ("line", "sku", "qty", "shipped", "returned"):
            lines.add_column(column)
        for line in d.lines:
            lines.add_row(
                line.external_id, line.sku, str(line.quantity), str(line.shipped_quantity), str(line.returned_quantity)
            )
        console.print(lines)
        events = Table(title="events")
        for column in ("at", "from", "to", "source", "reason"):
            events.add_column(column, overflow="fold")
        for event in d.events:
            events.add_row(fmt_time(event.at), event.from_state or "-", event.to_state, event.source, event.reason)
        console.print(events)
        if d.shipments:
            shipments = Table(title="shipments")
            for column in ("shipped", "carrier", "service", "tracking", "lines", "source"):
                shipments.add_column(column, overflow="fold")
            for s in d.shipments:
                shipped_lines = ", ".join(f"{x.get('sku')}x{x.get('quantity')}" for x in s.lines) or "all"
                shipments.add_row(
                    fmt_time(s.shipped_at), s.carrier, s.service, s.tracking_number, shipped_lines, s.source
                )
            console.print(shipments)


def parse_lines(values: list[str]) -> tuple[ShipmentLine, ...]:
    """SKU:QTY pairs; the SKU may itself contain colons (the quantity is after the last one)."""
    lines = []
    for value in values:
        sku, sep, qty = value.rpartition(":")
        if not sep or not sku or not qty.isdigit() or int(qty) <= 0:
            raise fail(f"--line must be SKU:QTY with a positive quantity, not {value!r}", 2)
        lines.append(ShipmentLine(sku=sku, quantity=int(qty)))
    return tuple(lines)


def ship_order(hub: Hub, ref: str, shipment: Shipment, *, source: str = "cli") -> ShipmentResult:
    """Record a shipment of order `ref` (id or CHANNEL:EXTERNAL_ID): the code path `channelhub ship` and the demo
    share. Commits the reserved stock, moves the order on and queues the tracking push to its channel."""
    with hub.db.transaction() as session:
        order_id = find_order(session, ref).id
    return record_shipment(hub.db, order_id, shipment, source, hub.policies)


@app.command()
@handle_errors
def ship(
    ctx: typer.Context,
    order: Annotated[str, typer.Argument(help="Hub order id, or CHANNEL:EXTERNAL_ID.")],
    carrier: Annotated[str, typer.Option("--carrier", help="Carrier name or code, e.g. UPS.")],
    tracking: Annotated[str, typer.Option("--tracking", help="Tracking number.")],
    url: Annotated[str, typer.Option("--url", help="Tracking URL.")] = "",
    service: Annotated[str, typer.Option("--service", help="Shipping service, e.g. Ground.")] = "",
    line: Annotated[
        list[str] | None, typer.Option("--line", help="SKU:QTY shipped (repeat); none means everything unshipped.")
    ] = None,
) -> None:
    """Record a shipment: commit the stock, move the order to shipped, queue the tracking push to its channel."""
    shipment = Shipment(
        carrier=carrier,
        service=service,
        tracking_number=tracking,
        tracking_url=url,
        shipped_at=datetime.now(UTC),
        lines=parse_lines(line or []),
    )
    with open_hub(ctx) as hub:
        result = ship_order(hub, order, shipment)
        with hub.db.transaction() as session:
            row = find_order(session, order)
    label = f"order {row.id} ({row.channel}:{row.external_id})"
    if not result.created:
        console.print(f"{label}: tracking {tracking} was already recorded; nothing changed", markup=False)
        return
    console.print(f"{label} is now {result.state}", markup=False)
    if result.outbox_key:
        console.print(f"tracking push to {row.channel} queued ({result.outbox_key})", markup=False)
