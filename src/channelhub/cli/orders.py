"""Orders: list, show, ship (record a shipment the way a carrier feed would) and cancel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from channelhub.cli.app import app
from channelhub.cli.common import console, fail, handle_errors, open_hub

if TYPE_CHECKING:
    from rich.table import Table

    from channelhub.model.orders import Order
    from channelhub.model.shipments import ShipmentLine
    from channelhub.services.views import OrderDetail

orders_app = typer.Typer(help="Look at and cancel orders.", no_args_is_help=True)
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
    from rich.table import Table

    from channelhub.model.lifecycle import OrderState
    from channelhub.render import fmt_time
    from channelhub.services.views import known_channel, list_orders

    states = [s.value for s in OrderState]
    if state_ is not None and state_ not in states:
        raise fail(f"--state must be one of {', '.join(states)}", 2)
    with open_hub(ctx) as hub, hub.db.transaction() as session:
        if channel is not None:
            known_channel(hub, session, channel)
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
    """One order: lines (stock and non-stock), fees, notes, warnings, lifecycle events, shipments and hold
    reason."""
    from rich.table import Table

    from channelhub.render import fmt_time
    from channelhub.services.views import order_detail

    with open_hub(ctx) as hub, hub.db.transaction() as session:
        d = order_detail(session, ref)
        o = d.order
        console.print(f"order {o.id}  {o.channel}:{o.external_id}  #{o.number}", markup=False)
        console.print(f"  state: {o.state}", markup=False)
        if o.hold_reason:
            console.print(f"  hold reason: {o.hold_reason}", markup=False)
        console.print(f"  payment: {o.financial_status}   total: {o.total} {o.currency}", markup=False)
        console.print(f"  placed: {fmt_time(o.placed_at)}   updated at channel: {fmt_time(o.channel_updated_at)}")
        console.print(lines_table(d))
        if d.canonical is not None:
            print_order_facts(d.canonical)
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


@orders_app.command("cancel")
@handle_errors
def orders_cancel(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Hub order id, or CHANNEL:EXTERNAL_ID.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the order's events).")],
) -> None:
    """Cancel an order: release its stock (held orders get it first), record the event, and queue the
    cancellation to its channel where the channel's connector can take it."""
    from channelhub.services.orders import cancel

    if not reason.strip():
        raise fail("--reason must not be empty", 2)
    with open_hub(ctx) as hub:
        result = cancel(hub, ref, reason.strip())
    label = f"order {result.order_id} ({result.channel}:{result.external_id})"
    if not result.cancelled:
        console.print(f"{label} was cancelled already; nothing changed", markup=False)
        return
    console.print(f"{label} is cancelled; stock released", markup=False)
    if result.outbox_key:
        console.print(f"cancellation to {result.channel} queued ({result.outbox_key})", markup=False)
    else:
        console.print(f"{result.channel} cannot take cancellations from the hub: cancel it there too", markup=False)


def parse_lines(values: list[str]) -> tuple[ShipmentLine, ...]:
    """SKU:QTY pairs; the SKU may itself contain colons (the quantity is after the last one)."""
    from channelhub.model.limits import MAX_QUANTITY
    from channelhub.model.shipments import ShipmentLine

    lines = []
    for value in values:
        sku, sep, qty = value.rpartition(":")
        if not sep or not sku.strip() or not qty.isdigit() or not 0 < int(qty) <= MAX_QUANTITY:
            raise fail(f"--line must be SKU:QTY with a positive quantity, not {value!r}", 2)
        lines.append(ShipmentLine(sku=sku.strip(), quantity=int(qty)))
    return tuple(lines)


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
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from channelhub.model.shipments import Shipment
    from channelhub.services.orders import ship as ship_order

    for option, value, limit in (
        ("--carrier", carrier, 100),
        ("--tracking", tracking, 200),
        ("--service", service, 100),
    ):
        if option != "--service" and not value.strip():
            raise fail(f"{option} must not be empty", 2)
        if len(value) > limit:
            raise fail(f"{option} must be at most {limit} characters", 2)
    try:
        shipment = Shipment(
            carrier=carrier.strip(),
            service=service.strip(),
            tracking_number=tracking.strip(),
            tracking_url=url.strip(),
            shipped_at=datetime.now(UTC),
            lines=parse_lines(line or []),
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        raise fail(f"--{first['loc'][0]}: {first['msg']}", 2) from None
    from channelhub.services.views import find_order

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


def lines_table(d: OrderDetail) -> Table:
    """Every line of the order: the stock lines with what shipped and came back, the others marked."""
    from rich.table import Table

    table = Table(title="lines")
    for column in ("line", "sku", "title", "qty", "shipped", "returned", "stock"):
        table.add_column(column, overflow="fold")
    stored = {line.external_id: line for line in d.lines}
    canonical = d.canonical.lines if d.canonical is not None else ()
    for position, line in enumerate(canonical, 1):
        row = stored.pop(line.external_id, None)
        if line.unmapped:
            stock = "NO SKU: order held"
        elif not line.requires_stock:
            stock = f"no stock ({line.kind.value})"
        else:
            stock = "yes"
        table.add_row(
            f"{position} ({line.external_id})", line.sku or "-", line.display_name, str(line.quantity),
            str(row.shipped_quantity) if row else "-", str(row.returned_quantity) if row else "-", stock,
        )  # fmt: skip
    for gone in stored.values():  # lines the document no longer lists (removed at the channel)
        table.add_row(gone.external_id, gone.sku, "", str(gone.quantity), str(gone.shipped_quantity),
                      str(gone.returned_quantity), "yes")  # fmt: skip
    return table


def print_order_facts(order: Order) -> None:
    """What people read on an order: fees, tax mode, payment, notes, tags, and the hub's warnings."""
    for fee in order.fees:
        console.print(f"  {fee.kind}: {fee.title or '-'} {fee.amount.shop}", markup=False)
    if order.taxes_included is not None:
        console.print(f"  prices include tax: {'yes' if order.taxes_included else 'no'}", markup=False)
    if order.payment_method or order.paid_at:
        paid = f"   paid at: {order.paid_at.isoformat()}" if order.paid_at else ""
        console.print(f"  payment method: {order.payment_method or '-'}{paid}", markup=False)
    if order.totals.outstanding is not None:
        console.print(f"  outstanding: {order.totals.outstanding.shop}", markup=False)
    for label, text in (("note", order.note), ("customer note", order.customer_note)):
        if text:
            console.print(f"  {label}: {text}", markup=False)
    if order.tags:
        console.print(f"  tags: {', '.join(order.tags)}", markup=False)
    for warning in order.warnings:
        console.print(f"  warning: {warning}", markup=False)
