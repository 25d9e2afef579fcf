"""The Shopify mapper on what real orders carry: lines without a SKU, tips, gift cards, lines that need no
shipping, duties and fees, Shopify's own fulfilments, notes and tags; both shapes map to one canonical order."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from scenarios import NOW

from channelhub.model.orders import LineKind, Order
from channelhub.model.totals import totals_warnings
from channelhub.ports import PullRequest, RawRecord
from doubles.shopify import samples
from doubles.shopify.sample_extras import gbag, rbag


def _map(connector, payload: dict) -> Order:
    return connector.map_order(RawRecord("orders", "test", json.dumps(payload)))


def _both(connector, **options) -> tuple[Order, Order]:
    graphql = _map(connector, samples.graphql_order(1, **options))
    rest = _map(connector, samples.rest_order(1, **options))
    return graphql, rest


def _same(a: Order, b: Order) -> None:
    for name in Order.model_fields:
        assert getattr(a, name) == getattr(b, name), name


def test_both_shapes_of_a_full_order_map_to_one_canonical_order(fake_connector) -> None:
    connector, _, _ = fake_connector()
    polled, hooked = _both(connector, extras=True, refund=True)
    _same(polled, hooked)
    kinds = {line.title: (line.kind, line.requires_stock, line.sku) for line in polled.lines}
    assert kinds == {
        "Widget": (LineKind.PRODUCT, True, "SKU-A1"),
        "Gadget": (LineKind.PRODUCT, True, "SKU-B"),
        "Engraving plate": (LineKind.CUSTOM, True, None),  # unmapped: the core holds the order, naming it
        "Tip": (LineKind.TIP, False, None),
        "Gift card": (LineKind.GIFT_CARD, False, "GIFT-25"),
        "Shipping protection": (LineKind.SERVICE, False, "PROTECT-1"),
    }
    assert polled.unmapped_reason() == "line 3 'Engraving plate' has no SKU"
    assert polled.quantity_by_sku() == {"SKU-A1": 2, "SKU-B": 1}
    widget = polled.lines[0]
    assert widget.variant_title == "blue" and widget.display_name == "Widget - blue"
    assert widget.subtotal is not None and widget.subtotal.shop.amount == Decimal("20.00")
    assert widget.subtotal.presentment is not None and widget.subtotal.presentment.amount == Decimal("15.00")


def test_totals_have_the_canonical_meaning_and_add_up(fake_connector) -> None:
    connector, _, _ = fake_connector()
    for order in (*_both(connector), *_both(connector, extras=True)):
        assert totals_warnings(order) == (), order.totals
    plain, full = _both(connector)[0], _both(connector, extras=True)[0]
    # Shopify's subtotalPriceSet (30.00, after discounts) is not the canonical subtotal (the lines before them)
    assert plain.totals.subtotal is not None and plain.totals.subtotal.shop.amount == Decimal("35.00")
    t = full.totals
    figures = {
        name: getattr(t, name).shop.amount
        for name in ("subtotal", "discount", "shipping", "fees", "tax", "total", "outstanding")
    }
    assert figures == {
        "subtotal": Decimal("67.00"),
        "discount": Decimal("5.00"),
        "shipping": Decimal("10.00"),
        "fees": Decimal("1.20"),
        "tax": Decimal("5.85"),
        "total": Decimal("79.05"),
        "outstanding": Decimal("0.00"),
    }
    assert t.total.presentment is not None and t.total.presentment.amount == Decimal("59.29")
    assert full.taxes_included is False


def test_a_duty_is_a_fee_of_its_line(fake_connector) -> None:
    connector, _, _ = fake_connector()
    polled, _ = _both(connector, extras=True)
    (duty,) = polled.fees
    assert (duty.external_id, duty.kind, duty.title) == ("931", "duty", "Duty on Widget (HS 950300)")
    assert duty.amount.shop.amount == Decimal("1.20") and duty.amount.presentment is not None


def test_additional_fees_are_fees_in_both_shapes_and_in_the_totals(fake_connector) -> None:
    connector, _, _ = fake_connector()
    graphql = samples.graphql_order(1)
    fee = {"id": "gid://shopify/AdditionalFee/941", "name": "Handling fee", "price": gbag("0.80", "0.60")}
    graphql.update(
        additionalFees=[{**fee, "taxLines": []}],
        originalTotalAdditionalFeesSet=gbag("0.80", "0.60"),
        totalPriceSet=gbag("46.65", "34.99"),
    )
    rest = samples.rest_order(1)  # REST documents the total only, not a list of the fees
    rest.update(original_total_additional_fees_set=rbag("0.80", "0.60"), total_price_set=rbag("46.65", "34.99"))
    a, b = _map(connector, graphql), _map(connector, rest)
    assert [(f.external_id, f.kind, f.title) for f in a.fees] == [("941", "fee", "Handling fee")]
    assert [(f.kind, f.title) for f in b.fees] == [("fee", "Additional fees")]
    assert a.fees[0].amount == b.fees[0].amount and a.totals == b.totals
    assert a.totals.fees is not None and a.totals.fees.shop.amount == Decimal("0.80")
    assert totals_warnings(a) == totals_warnings(b) == ()


def test_duties_included_in_the_prices_are_not_added_again(fake_connector) -> None:
    connector, _, _ = fake_connector()
    order = samples.graphql_order(1, extras=True)
    order.update(dutiesIncluded=True, totalPriceSet=gbag("77.85", "58.39"))
    mapped = _map(connector, order)
    assert mapped.totals.fees is None and [f.kind for f in mapped.fees] == ["duty"]


def test_only_shopifys_successful_fulfilments_are_shipments(fake_connector) -> None:
    connector, _, _ = fake_connector()
    polled, _ = _both(connector, extras=True)
    (shipped,) = polled.fulfillments  # the cancelled one shipped nothing
    assert shipped.external_id == "951" and shipped.carrier == "UPS"
    assert shipped.tracking_numbers == ("1ZSHIPPED",) and shipped.tracking_urls == ("https://ups.example/1ZSHIPPED",)
    assert [(line.line_id, line.quantity) for line in shipped.lines] == [("8200011", 1)]
    assert shipped.shipped_at == NOW.replace(day=2, hour=8)
    for status in ("PENDING", "OPEN", "ERROR", "FAILURE"):
        order = samples.graphql_order(1, extras=True)
        order["fulfillments"][0]["status"] = status
        assert _map(connector, order).fulfillments == (), status


def test_what_people_read_note_tags_phone_and_payment_method(fake_connector) -> None:
    connector, _, _ = fake_connector()
    polled, hooked = _both(connector, extras=True)
    assert polled.note == "Leave it at the back door" and polled.tags == ("gift", "vip")
    assert polled.payment_method == "shopify_payments"
    assert polled.customer is not None and polled.customer.phone == "+14165550199"  # the order's: the customer has none
    assert polled.shipping_address is not None and polled.shipping_address.phone == "+14165550100"
    assert polled.paid_at is None  # Shopify's order says when it was processed, not when it was paid
    assert hooked.tags == polled.tags


@pytest.mark.parametrize(
    ("sku_map", "expected"),
    [({"title:Engraving plate": "ENGRAVE"}, "ENGRAVE"), ({}, None)],
)
def test_a_custom_item_takes_its_sku_from_the_sku_map(fake_connector, sku_map, expected) -> None:
    connector, _, _ = fake_connector()
    connector.context.sku_map = sku_map
    polled, hooked = _both(connector, extras=True)
    assert polled.lines[2].sku == hooked.lines[2].sku == expected
    assert (polled.unmapped_reason() == "") is (expected is not None)


def test_a_product_line_without_a_sku_maps_by_its_variant(fake_connector) -> None:
    connector, _, _ = fake_connector()
    connector.context.sku_map = {"variant:71": "WIDGET-BLUE"}
    order = _map(connector, samples.graphql_order(1, sku_a=""))
    assert order.lines[0].sku == "WIDGET-BLUE" and order.lines[0].kind == LineKind.PRODUCT


def test_a_graphql_tip_not_titled_tip_is_found_by_the_tip_received(fake_connector) -> None:
    connector, _, _ = fake_connector()
    order = samples.graphql_order(1, extras=True)
    order["lineItems"]["nodes"][3]["title"] = "Pourboire"
    assert _map(connector, order).lines[3].kind == LineKind.TIP
    order["totalTipReceivedSet"] = gbag("0.00", "0.00")  # no tip received: a custom item that needs no shipping
    line = _map(connector, order).lines[3]
    assert (line.kind, line.requires_stock) == (LineKind.CUSTOM, False)


def test_the_fake_shop_answers_a_full_order_and_it_maps(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    shop.orders.append(samples.graphql_order(1, extras=True, refund=True))
    (page,) = connector.pull_orders(PullRequest(None, timedelta(minutes=5), NOW))
    assert shop.refused == [] and len(page.records) == 1
    _same(connector.map_order(page.records[0]), _map(connector, samples.rest_order(1, extras=True, refund=True)))
