"""The tracking and customs vocabulary the carrier and shipping-platform connectors map onto (issue 10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from channelhub.model.customs import CustomsDeclaration, CustomsItem, DutiesPaidBy
from channelhub.model.money import Money
from channelhub.model.tracking import TrackingEvent, TrackingStatus, TrackingUpdate


def test_only_the_end_of_a_journey_is_final_and_only_returns_and_failures_are_exceptions() -> None:
    final = {s for s in TrackingStatus if s.final}
    assert final == {"delivered", "return_to_sender", "failure", "cancelled"}
    assert {s for s in TrackingStatus if s.exception} == {"return_to_sender", "failure"}
    assert not TrackingStatus.ERROR.final  # the tracker failed, not the parcel


def test_a_carriers_time_is_kept_in_utc() -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
    update = TrackingUpdate(
        carrier="USPS",
        tracking_number="9400100000000000000000",
        status=TrackingStatus.DELIVERED,
        status_at=at,
        events=(TrackingEvent(status=TrackingStatus.DELIVERED, occurred_at=at, location="NEW YORK, NY, US"),),
    )
    assert update.status_at == datetime(2026, 12, 1, 14, 30, tzinfo=UTC_)
    with pytest.raises(ValidationError):
        TrackingUpdate(carrier="USPS", tracking_number="", status=TrackingStatus.UNKNOWN)
    with pytest.raises(ValidationError):  # a naive time is refused, never guessed
        TrackingEvent(status=TrackingStatus.IN_TRANSIT, occurred_at=datetime(2026, 12, 1, 9, 30))


UTC_ = UTC


def test_a_customs_item_needs_a_tariff_number_and_an_iso_origin() -> None:
    item = CustomsItem(
        sku="MUG-BLUE", description="Ceramic mug", quantity=2, value=Money(amount=Decimal("12.50"), currency="EUR"),
        hs_code="691200", origin_country="PT", weight_grams=350,
    )  # fmt: skip
    declaration = CustomsDeclaration(items=(item,), duties_paid_by=DutiesPaidBy.SENDER)
    assert declaration.contents == "merchandise" and declaration.non_delivery == "return_to_sender"
    for bad in ({"hs_code": "69.12"}, {"origin_country": "Portugal"}, {"description": ""}):
        with pytest.raises(ValidationError):
            CustomsItem.model_validate({**item.model_dump(), **bad})
