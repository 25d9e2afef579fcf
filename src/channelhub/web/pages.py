"""The dashboard's pages (GET): each reads through `channelhub.services` in one read-only transaction
(`Database.read_only`: a page never waits for a writer nor makes one wait) and renders one template. Filters
come from the query string; a filter value the hub does not know is ignored and said so, never passed on to a
query.

- `/`: channels at a glance, the counts of held orders, queued and dead writes and quarantined records, and
  two charts of the last 48 hours (orders per hour by channel, stock movements per hour by kind);
- `/orders`: filtered by channel, state, hold reason (or every held order) and a search by reference;
- `/orders/{ref}`: one order (hub id or CHANNEL:EXTERNAL_ID): lines, events, shipments, outbound writes;
- `/stock`: per SKU, on hand, reserved, available, and per channel what the hub would list, what the channel
  last confirmed and what is queued;
- `/channels`: state, last pull, lag, stop reason, webhooks; Resume for a stopped channel;
- `/outbox`: outbound writes by status and channel, dead ones with their last error; Retry, Retry all dead;
- `/quarantine`: records that did not map, with why; Replay one, Replay all.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from channelhub.render import OUTBOX_STATUSES
from channelhub.services import dashboard as board
from channelhub.services.views import (
    NotFound,
    channel_statuses,
    order_detail,
    outbox_rows,
    quarantine_reason,
    quarantined,
)
from channelhub.web.charts import stacked_bars
from channelhub.web.dashboard import Dashboard
from channelhub.web.session import Caller


def overview(dash: Dashboard, request: Request, who: Caller) -> Response:
    now = datetime.now(UTC)
    with dash.hub.db.read_only() as session:
        counts = board.counts(session)
        orders = board.orders_per_hour(session, now=now)
        movements = board.movements_per_hour(session, now=now)
    titles = ("Orders per hour by channel, last 48 hours", "Stock movements per hour by kind, last 48 hours")
    charts = [
        (title, stacked_bars(series.hours, series.series, title=title))
        for title, series in zip(titles, (orders, movements), strict=True)
    ]
    return dash.render(
        request, who, "overview.html", counts=counts, channels=channel_statuses(dash.hub), charts=charts, now=now,
        holds=board.HOLD_KINDS,
    )  # fmt: skip


def _choice(value: str | None, allowed: tuple[str, ...] | list[str], what: str, notes: list[str]) -> str:
    """`value` when it is one of `allowed` (or empty), else "" with a note saying it was ignored."""
    if not value:
        return ""
    if value in allowed:
        return value
    notes.append(f"unknown {what} {value!r} ignored")
    return ""


def orders(dash: Dashboard, request: Request, who: Caller) -> Response:
    q = request.query_params
    notes: list[str] = []
    with dash.hub.db.read_only() as session:
        channels = list(board.channel_names(dash.hub, session))
        wanted = board.OrderFilter(
            channel=_choice(q.get("channel"), channels, "channel", notes),
            state=_choice(q.get("state"), board.ORDER_STATES, "state", notes),
            hold=_choice(q.get("hold"), ("any", *board.HOLD_KINDS), "hold reason", notes),
            search=(q.get("q") or "")[:200],
        )
        rows = board.find_orders(session, wanted)
    return dash.render(
        request, who, "orders.html", rows=rows, wanted=wanted, channels=channels, states=board.ORDER_STATES,
        holds=board.HOLD_KINDS, notes=notes, limit=wanted.limit,
    )  # fmt: skip


def order(dash: Dashboard, request: Request, who: Caller) -> Response:
    ref = request.path_params["ref"]
    with dash.hub.db.read_only() as session:
        try:
            detail = order_detail(session, ref)
        except NotFound as exc:
            return dash.render(request, who, "missing.html", status_code=404, message=str(exc))
        writes = board.order_writes(session, detail.order)
    return dash.render(
        request, who, "order.html", d=detail, o=detail.order, lines=board.order_lines(detail), writes=writes,
        facts=detail.canonical,
    )  # fmt: skip


def stock(dash: Dashboard, request: Request, who: Caller) -> Response:
    search = (request.query_params.get("q") or "")[:200]
    with dash.hub.db.read_only() as session:
        rows = board.stock_rows(dash.hub, session, search=search, limit=board.STOCK_ROWS)
    channels = [p.channel for p in dash.hub.policies]
    return dash.render(request, who, "stock.html", rows=rows, channels=channels, search=search, limit=board.STOCK_ROWS)


def channels(dash: Dashboard, request: Request, who: Caller) -> Response:
    return dash.render(request, who, "channels.html", channels=channel_statuses(dash.hub), now=datetime.now(UTC))


def outbox(dash: Dashboard, request: Request, who: Caller) -> Response:
    q = request.query_params
    notes: list[str] = []
    status = _choice(q.get("status"), OUTBOX_STATUSES, "status", notes)
    with dash.hub.db.read_only() as session:
        names = list(board.channel_names(dash.hub, session))
        channel = _choice(q.get("channel"), names, "channel", notes)
        rows = outbox_rows(session, status=status or None, channel=channel or None)
        dead = board.dead_writes(session)
    return dash.render(
        request, who, "outbox.html", rows=rows, status=status, channel=channel, statuses=OUTBOX_STATUSES,
        channels=names, notes=notes, dead=dead,
    )  # fmt: skip


def quarantine(dash: Dashboard, request: Request, who: Caller) -> Response:
    with dash.hub.db.read_only() as session:
        rows = quarantined(session)
    items = [(row, quarantine_reason(row.source, row.reason)) for row in rows]
    return dash.render(request, who, "quarantine.html", items=items)


def page_routes(dash: Dashboard) -> list[BaseRoute]:
    return [
        Route("/", dash.page(overview), methods=["GET"]),
        Route("/orders", dash.page(orders), methods=["GET"]),
        Route("/orders/{ref:path}", dash.page(order), methods=["GET"]),
        Route("/stock", dash.page(stock), methods=["GET"]),
        Route("/channels", dash.page(channels), methods=["GET"]),
        Route("/outbox", dash.page(outbox), methods=["GET"]),
        Route("/quarantine", dash.page(quarantine), methods=["GET"]),
    ]
