"""Fulfilments the channel made itself, as shipments: what `apply` does with an order the channel reports
(partly) shipped.

Contract of `channel_fulfilment` (in the caller's transaction; stock effects are noted on the pass for its settle):

- an order not yet reserved is reserved first (the channel shipped it, so its stock is gone whatever the hub
  thought of its payment); when that fails nothing is committed, and the event says so;
- each fulfilment in `Order.fulfillments` the hub has not recorded becomes a shipment (`record_shipment`) of
  exactly its units of stock lines, never pushed back to the channel. It is recognised as recorded by the id
  the channel gave it, or by a tracking number the hub already holds for the order (the hub's own shipment,
  pushed to the channel and reported back by it). Units already shipped are not shipped twice: a fulfilment
  is cut to what is left, and one with nothing left (or only non-stock lines) records no shipment;
- when the channel says the whole order is fulfilled (or delivered), the units still unshipped are committed as
  well and the order moves to shipped (or delivered).

`reports_shipping` says when an order goes this way at all: the whole order fulfilled, or fulfilments reported
for an order whose every line that needs stock has a SKU. An order partly fulfilled with a line without a SKU
waits on hold for the SKU like any other (its fulfilments are recorded by the replay that maps the line): once
partly shipped, it could no longer be held.
"""

from __future__ import annotations

from sqlalchemy import select, update

from channelhub.errors import InvalidTransition
from channelhub.model.lifecycle import RANK, OrderState, is_forward
from channelhub.model.orders import ChannelFulfillment, ChannelShipment, Order
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.stock import ledger
from channelhub.store.tables import EVENTS, LINES, SHIPMENTS
from channelhub.sync.apply_pass import UNRESERVED_STATES, ApplyPass, StoredOrder, reserve_one
from channelhub.sync.fulfil import record_shipment
from channelhub.sync.transitions import move, unshipped_by_sku


def reports_shipping(order: Order) -> bool:
    """True when `channel_fulfilment` should record what the channel says it shipped (see the module contract)."""
    if order.fulfillment in (ChannelFulfillment.FULFILLED, ChannelFulfillment.DELIVERED):
        return True
    return bool(order.fulfillments) and not order.unmapped_reason()


def channel_fulfilment(run: ApplyPass, order: Order, stored: StoredOrder) -> OrderState | None:
    """Record what the channel shipped itself (see the module contract). Returns the state the order ended in,
    or None when nothing moved (stale, or nothing new)."""
    whole = order.fulfillment in (ChannelFulfillment.FULFILLED, ChannelFulfillment.DELIVERED)
    target = OrderState.DELIVERED if order.fulfillment == ChannelFulfillment.DELIVERED else OrderState.SHIPPED
    state = stored.state
    try:
        if not is_forward(state, target if whole else OrderState.SHIPPED):
            return None
    except InvalidTransition as exc:
        run.report.conflicts.append(f"{order.channel}/{order.external_id}: {exc} (update from {run.source} ignored)")
        return None
    reserved = True
    if state in UNRESERVED_STATES:
        reserved = reserve_one(run, order, stored)
        state = stored.state
    if not reserved:
        if not whole:
            note = "the channel reports fulfilments, but the order's stock is not reserved: recorded when it is"
            run.log.add(stored.id, run.at, state.value, state.value, run.source, note)
            return None
    else:
        moved = _record_fulfilments(run, order, stored)
        if not whole:
            return moved
        state = moved or state
    return _ship_the_rest(run, order, stored, state, target, reserved)


def _record_fulfilments(run: ApplyPass, order: Order, stored: StoredOrder) -> OrderState | None:
    """Each fulfilment not yet recorded, as a shipment (never pushed back). The state the last one left."""
    known_keys: set[str] = set()
    known_tracking: set[str] = set()
    for key, number, tracking in run.session.execute(
        select(SHIPMENTS.c.shipment_key, SHIPMENTS.c.tracking_number, SHIPMENTS.c.tracking).where(
            SHIPMENTS.c.order_id == stored.id
        )
    ):
        known_keys.add(key)
        known_tracking.add(number)
        known_tracking.update(str(item.get("number", "")) for item in tracking or ())
    known_tracking.discard("")
    state = None
    for fulfilment in order.fulfillments:
        if fulfilment.external_id in known_keys or known_tracking.intersection(fulfilment.tracking_numbers):
            continue
        shipment = _as_shipment(run, order, stored, fulfilment)
        if shipment is None:
            continue
        result = record_shipment(run.session, stored.id, shipment, run.source, run.policies, at=run.at,
                                 notify_channel=False, settle_stock=False)  # fmt: skip
        run.note(result.change)
        state = stored.state = OrderState(result.state)
        known_keys.add(fulfilment.external_id)
    return state


def _as_shipment(run: ApplyPass, order: Order, stored: StoredOrder, fulfilment: ChannelShipment) -> Shipment | None:
    """The fulfilment's units of stock lines that are still unshipped, as a Shipment; None when there are none."""
    unshipped = unshipped_by_sku(run.session, stored.id)
    skus = {line.external_id: line.sku for line in order.stock_lines}
    wanted: dict[str, int] = {}
    if fulfilment.lines:
        for item in fulfilment.lines:
            sku = skus.get(item.line_id)
            if sku is not None:
                wanted[sku] = wanted.get(sku, 0) + item.quantity
    else:
        wanted = dict(unshipped)
    lines = tuple(
        ShipmentLine(sku=sku, quantity=min(quantity, unshipped.get(sku, 0)))
        for sku, quantity in sorted(wanted.items())
        if unshipped.get(sku, 0) > 0
    )
    if not lines:
        note = f"channel fulfilment {fulfilment.external_id}: no unshipped stock line in it, nothing committed"
        said = run.session.scalar(select(EVENTS.c.id).where(EVENTS.c.order_id == stored.id, EVENTS.c.reason == note))
        if said is None:  # once, not at every later update of the order
            run.log.add(stored.id, run.at, stored.state.value, stored.state.value, run.source, note)
        return None
    numbers, urls = fulfilment.tracking_numbers, fulfilment.tracking_urls
    return Shipment(
        carrier=fulfilment.carrier[:100],
        service=fulfilment.service[:100],
        tracking_number=numbers[0] if numbers else "",
        tracking_url=urls[0] if urls else "",
        tracking_numbers=numbers,
        tracking_urls=urls,
        external_id=fulfilment.external_id,
        shipped_at=fulfilment.shipped_at,
        lines=lines,
    )


def _ship_the_rest(
    run: ApplyPass, order: Order, stored: StoredOrder, state: OrderState, target: OrderState, reserved: bool
) -> OrderState | None:
    """The channel says the whole order shipped: commit what is left and move to shipped (or delivered)."""
    session = run.session
    note = "shipped by the channel"
    if unmapped := order.unmapped_reason():
        note += f"; {unmapped}, so its stock was not counted"
    if not reserved:
        note = "shipped by the channel; stock was not reserved, so none was committed"
    else:
        remaining = unshipped_by_sku(session, stored.id)
        if remaining:
            run.note(ledger.commit_lines(session, stored.id, remaining, note))
    session.execute(update(LINES).where(LINES.c.order_id == stored.id).values(shipped_quantity=LINES.c.quantity))
    if target == OrderState.DELIVERED and RANK[state] < RANK[OrderState.SHIPPED]:
        move(session, run.log, stored.id, state, OrderState.SHIPPED, at=run.at, source=run.source, reason=note)
        state = OrderState.SHIPPED
    move(session, run.log, stored.id, state, target, at=run.at, source=run.source, reason=note)
    stored.state = target
    return target
