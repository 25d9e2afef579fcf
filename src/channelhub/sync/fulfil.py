"""Recording shipments and returns: commit (or restock) the stock, move the order forward, tell its channel.

Both run in the caller's transaction, settle their stock effects in it (`channelhub.sync.holds.settle`: orders
held for restocked units are retried, the new figures published) and return the ledger's `StockChange`.
`record_shipment`:

- a shipment is identified by (order, `shipment.identity`: the id its channel gave it, else its tracking
  number): recording the same one again adds nothing (tracking numbers are merged, never replaced) and returns
  `created=False`;
- quantities are checked against the units not yet shipped, with an error naming the order and SKU; an empty
  `shipment.lines` means every unshipped unit;
- the ledger commits the units (on_hand and reserved drop together), lines' shipped_quantity grows, and the
  order moves to partially_shipped or shipped (an event each);
- a "fulfillment" outbox row goes to the order's channel (cause "shipment:<id>").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from channelhub.errors import ChannelhubError, InvalidTransition
from channelhub.model.lifecycle import RANK, OrderState
from channelhub.model.returns import Return
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.stock import ledger
from channelhub.stock.ledger import NO_CHANGE, StockChange
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.tables import EVENTS, LINES, ORDERS, SHIPMENTS
from channelhub.sync.holds import settle
from channelhub.sync.outbox import enqueue
from channelhub.sync.transitions import EventLog, move

OrderRef = int | tuple[str, str]


class ShipmentError(ChannelhubError):
    """A shipment that does not fit the order (unknown SKU, more than is unshipped, an order not ready)."""


@dataclass(frozen=True)
class ShipmentResult:
    order_id: int
    shipment_id: int
    created: bool  # False: this tracking number was already recorded for the order; nothing changed
    state: str
    outbox_key: str | None = None
    change: StockChange = field(default=NO_CHANGE)


def resolve_order(session: Session, ref: OrderRef) -> tuple[int, str, str, str, OrderState]:
    """(id, channel, external id, number, state) of an order given by id or (channel, external_id)."""
    stmt = select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.external_id, ORDERS.c.number, ORDERS.c.state)
    if isinstance(ref, int):
        stmt = stmt.where(ORDERS.c.id == ref)
        where = f"order id {ref}"
    else:
        stmt = stmt.where(ORDERS.c.channel == ref[0], ORDERS.c.external_id == ref[1])
        where = f"order {ref[0]}/{ref[1]}"
    row = session.execute(stmt).first()
    if row is None:
        raise ShipmentError(f"no such order: {where}")
    return row.id, row.channel, row.external_id, row.number, OrderState(row.state)


def record_shipment(
    session: Session,
    order: OrderRef,
    shipment: Shipment,
    source: str,
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    at: datetime,
    notify_channel: bool = True,
    settle_stock: bool = True,
) -> ShipmentResult:
    """Record `shipment` for `order` (an order id, or (channel, external_id)); see the module contract.

    Raises ShipmentError naming the order and SKU for a shipment that does not fit, and InvalidTransition for an
    order that is not ready to ship (placed, on hold, cancelled). `notify_channel=False` for a shipment the
    channel reported itself; `settle_stock=False` for a caller that settles its unit of work once (apply).
    """
    order_id, channel, external_id, number, state = resolve_order(session, order)
    where = f"order {channel}/{external_id}"
    known = session.scalar(
        select(SHIPMENTS.c.id).where(SHIPMENTS.c.order_id == order_id, SHIPMENTS.c.shipment_key == shipment.identity)
    )
    if known is not None:
        return ShipmentResult(order_id, known, created=False, state=state.value)
    if state == OrderState.CANCELLED or RANK.get(state, 0) < RANK[OrderState.CONFIRMED] or state == OrderState.ON_HOLD:
        raise InvalidTransition(f"{where} is {state.value}; only a confirmed order can ship", where=source)
    lines = list(
        session.execute(
            select(LINES.c.id, LINES.c.external_id, LINES.c.sku, LINES.c.quantity, LINES.c.shipped_quantity)
            .where(LINES.c.order_id == order_id)
            .order_by(LINES.c.id)
        )
    )
    unshipped: dict[str, int] = {}
    for line in lines:
        unshipped[line.sku] = unshipped.get(line.sku, 0) + line.quantity - line.shipped_quantity
    if shipment.lines:
        wanted: dict[str, int] = {}
        for item in shipment.lines:
            wanted[item.sku] = wanted.get(item.sku, 0) + item.quantity
    else:
        wanted = {sku: qty for sku, qty in unshipped.items() if qty > 0}
    if not wanted:
        raise ShipmentError(f"{where}: nothing left to ship", where=source)
    for sku, quantity in wanted.items():
        if sku not in unshipped:
            raise ShipmentError(f"{where} has no line with SKU '{sku}'", where=source)
        if quantity > unshipped[sku]:
            raise ShipmentError(
                f"{where}: cannot ship {quantity} of '{sku}', only {unshipped[sku]} unshipped", where=source
            )
    touched = ledger.commit_lines(session, order_id, wanted, f"shipment {shipment.identity} ({source})")
    line_ids: dict[str, str] = {}
    for line in lines:
        line_ids.setdefault(line.sku, line.external_id)
        take = min(wanted.get(line.sku, 0), line.quantity - line.shipped_quantity)
        if take > 0:
            wanted[line.sku] -= take
            session.execute(
                update(LINES).where(LINES.c.id == line.id).values(shipped_quantity=LINES.c.shipped_quantity + take)
            )
    explicit = shipment.model_copy(
        update={
            "lines": shipment.lines
            or tuple(ShipmentLine(sku=sku, quantity=qty) for sku, qty in unshipped.items() if qty > 0)
        }
    )
    shipment_id = session.execute(
        insert(SHIPMENTS)
        .values(
            order_id=order_id,
            carrier=shipment.carrier,
            service=shipment.service,
            tracking_number=shipment.tracking_number,
            tracking_url=shipment.tracking_url,
            shipped_at=shipment.shipped_at,
            lines=[line.model_dump(mode="json") for line in explicit.lines],
            source=source[:200],
            external_id=shipment.external_id,
            shipment_key=shipment.identity,
            tracking=_tracking(shipment),
        )
        .returning(SHIPMENTS.c.id)
    ).scalar_one()
    remaining = sum(
        qty - shipped
        for qty, shipped in session.execute(
            select(LINES.c.quantity, LINES.c.shipped_quantity).where(LINES.c.order_id == order_id)
        )
    )
    target = OrderState.SHIPPED if remaining == 0 else OrderState.PARTIALLY_SHIPPED
    log = EventLog()
    reason = " ".join(part for part in (shipment.carrier, shipment.tracking_number or shipment.identity) if part)
    if move(session, log, order_id, state, target, at=at, source=source, reason=reason):
        state = target
    log.flush(session)
    key = None
    if notify_channel:
        key = enqueue(
            session,
            channel=channel,
            kind="fulfillment",
            subject=external_id,
            payload={
                "order_external_id": external_id,
                "order_number": number,
                "shipment": explicit.model_dump(mode="json"),
                "line_external_ids": {sku: line_ids[sku] for sku in sorted({i.sku for i in explicit.lines})},
                "completes_order": remaining == 0,
            },
            cause=f"shipment:{shipment_id}",
        )
    if settle_stock:
        settle(session, policies, touched=touched.skus, freed=touched.freed, cause=f"shipment:{shipment_id}", at=at,
               source=source)  # fmt: skip
    return ShipmentResult(order_id, shipment_id, created=True, state=state.value, outbox_key=key, change=touched)


def _tracking(shipment: Shipment) -> list[dict[str, str]]:
    """Every tracking number of the shipment with its link (paired by position), the primary one first."""
    numbers = [n for n in shipment.tracking_numbers if n] or [shipment.tracking_number]
    urls = list(shipment.tracking_urls) or [shipment.tracking_url]
    if shipment.tracking_number and shipment.tracking_number not in numbers:
        numbers.insert(0, shipment.tracking_number)
        urls.insert(0, shipment.tracking_url)
    return [{"number": n, "url": urls[i] if i < len(urls) else ""} for i, n in enumerate(numbers) if n]


@dataclass(frozen=True)
class ReturnResult:
    order_id: int
    state: str
    refund_key: str | None = None
    change: StockChange = field(default=NO_CHANGE)


def record_return(
    session: Session,
    order: OrderRef,
    ret: Return,
    source: str,
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    cause: str,
    at: datetime,
) -> ReturnResult:
    """Units came back: restock them at `ret.restock_location`, move the order to returned, publish the SKUs and,
    when `ret.refund` is set, enqueue the refund to the order's channel.

    `cause` identifies the return (an RMA number, a file line): recording the same cause twice raises
    ShipmentError instead of restocking twice. Quantities are checked against shipped, not yet returned units.
    """
    order_id, channel, external_id, _number, state = resolve_order(session, order)
    where = f"order {channel}/{external_id}"
    if session.scalar(select(EVENTS.c.id).where(EVENTS.c.order_id == order_id, EVENTS.c.reason == f"return {cause}")):
        raise ShipmentError(f"{where}: return {cause!r} was already recorded", where=source)
    lines = list(
        session.execute(
            select(LINES.c.id, LINES.c.external_id, LINES.c.sku, LINES.c.shipped_quantity, LINES.c.returned_quantity)
            .where(LINES.c.order_id == order_id)
            .order_by(LINES.c.id)
        )
    )
    returnable: dict[str, int] = {}
    for line in lines:
        returnable[line.sku] = returnable.get(line.sku, 0) + line.shipped_quantity - line.returned_quantity
    for item in ret.lines:
        if item.quantity > returnable.get(item.sku, 0):
            raise ShipmentError(
                f"{where}: cannot return {item.quantity} of '{item.sku}', only {returnable.get(item.sku, 0)} "
                "shipped and not returned",
                where=source,
            )
    touched = NO_CHANGE
    refund_lines: list[tuple[str, int]] = []
    for item in ret.lines:
        touched |= ledger.restock(session, item.sku, ret.restock_location, item.quantity, f"return {cause}", order_id)
        left = item.quantity
        for line in lines:
            take = min(left, line.shipped_quantity - line.returned_quantity) if line.sku == item.sku else 0
            if take > 0:
                left -= take
                refund_lines.append((line.external_id, take))
                session.execute(
                    update(LINES)
                    .where(LINES.c.id == line.id)
                    .values(returned_quantity=LINES.c.returned_quantity + take)
                )
    log = EventLog()
    reason = f"return {cause}"
    if move(session, log, order_id, state, OrderState.RETURNED, at=at, source=source, reason=reason):
        state = OrderState.RETURNED
    else:  # the return is still recorded, so a repeat of the same cause is recognised
        log.add(order_id, at, state.value, state.value, source, reason)
    log.flush(session)
    key = None
    if ret.refund is not None:
        key = enqueue(
            session,
            channel=channel,
            kind="refund",
            subject=external_id,
            payload={
                "order_external_id": external_id,
                "amount": str(ret.refund.shop.amount),
                "currency": ret.refund.shop.currency,
                "reason": ret.reason,
                "lines": refund_lines,
            },
            cause=f"return:{cause}",
        )
    settle(session, policies, touched=touched.skus, freed=touched.freed, cause=f"return:{cause}", at=at, source=source)
    return ReturnResult(order_id, state.value, key, change=touched)
