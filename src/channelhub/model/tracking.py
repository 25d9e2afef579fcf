"""Tracking: where a parcel is, as its carrier (through a tracker such as EasyPost) last said.

A `TrackingUpdate` is what a tracker reports of one parcel at one moment: its status in the hub's fixed
vocabulary, the carrier's own time of that status (`status_at`: when the carrier saw it, not when the hub
heard), and the carrier's events so far. Updates are applied monotonically: an older one (by `status_at`) never
replaces a newer, and a final status (delivered, returned to sender, failure, cancelled) is only ever followed by
another final one the carrier reports later.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from channelhub.model.orders import UtcDatetime


class TrackingStatus(StrEnum):
    """EasyPost's vocabulary, which names what every carrier reports."""

    PRE_TRANSIT = "pre_transit"  # a label exists; the carrier has not got the parcel yet
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    RETURN_TO_SENDER = "return_to_sender"
    FAILURE = "failure"
    CANCELLED = "cancelled"
    ERROR = "error"  # the tracker could not track (a wrong number, a carrier fault): not the parcel's fate
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        """The parcel's journey is over (the order can be delivered, or needs someone)."""
        return self in FINAL_STATUSES

    @property
    def exception(self) -> bool:
        """A status that puts the order in exception: someone must act."""
        return self in EXCEPTION_STATUSES


FINAL_STATUSES = frozenset(
    {TrackingStatus.DELIVERED, TrackingStatus.RETURN_TO_SENDER, TrackingStatus.FAILURE, TrackingStatus.CANCELLED}
)
EXCEPTION_STATUSES = frozenset({TrackingStatus.RETURN_TO_SENDER, TrackingStatus.FAILURE})


class TrackingEvent(BaseModel):
    """One scan or message of the carrier's, as it gave it."""

    model_config = ConfigDict(frozen=True)

    status: TrackingStatus
    message: str = Field(default="", max_length=1000)
    occurred_at: UtcDatetime
    location: str = Field(default="", max_length=300)  # "CITY, STATE, COUNTRY" as far as the carrier says


class TrackingUpdate(BaseModel):
    """A tracker's report on one parcel, identified by (carrier, tracking number)."""

    model_config = ConfigDict(frozen=True)

    carrier: str = Field(max_length=100)
    tracking_number: str = Field(min_length=1, max_length=200)
    status: TrackingStatus
    status_at: UtcDatetime | None = None  # the carrier's time of `status` (the newest event's), when it gave one
    tracker_id: str = Field(default="", max_length=200)  # the tracker's id at the tracking service
    public_url: str = ""
    est_delivery_at: UtcDatetime | None = None
    events: tuple[TrackingEvent, ...] = ()
