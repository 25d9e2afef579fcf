"""ShipStation v1's times: US Pacific wall-clock time without an offset.

The v1 reference gives its times without an offset ("orderDate": "2015-06-29T08:46:27.0000000", "shipDate":
"2015-06-29", a date only; docs.shipstation.com, ShipStation V1 API, Order model and List Orders example). The
offset is not stated there; integrations report the account's times as US Pacific (a gist of a production client:
"ShipStation appears to be recording their timestamps in local (PST) time"), so the rule here is: a time without
an offset is America/Los_Angeles wall-clock time (daylight saving applied by the tz database); a time that carries
an offset or "Z" is taken as it says. The same rule turns the hub's UTC times into what ShipStation is sent, and
the query dates (shipDateStart, modifyDateStart) are Pacific calendar dates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")


def parse_time(value: str) -> datetime:
    """A ShipStation time as an aware UTC datetime (ValueError when it is not a time)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:  # .NET writes 7 fractional digits; keep 6, and any offset after them
        count = next((i for i, c in enumerate(rest) if not c.isdigit()), len(rest))
        digits, offset = rest[:count], rest[count:]
        text = f"{head}.{digits[:6].ljust(6, '0')}{offset}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=PACIFIC)
    return parsed.astimezone(UTC)


def parse_date(value: str) -> date:
    """The calendar date of a ShipStation date ("2015-06-29", or a time whose date part is taken as written)."""
    return date.fromisoformat(value.strip()[:10])


def pacific_date(value: date) -> datetime:
    """Midnight Pacific of `value`, as UTC."""
    return datetime(value.year, value.month, value.day, tzinfo=PACIFIC).astimezone(UTC)


def to_pacific(value: datetime) -> str:
    """An aware time as ShipStation writes one: Pacific wall-clock time, no offset."""
    return value.astimezone(PACIFIC).replace(tzinfo=None).isoformat(timespec="seconds")


def pacific_day(value: datetime) -> str:
    """The Pacific calendar date of an aware time, for ShipStation's date filters."""
    return value.astimezone(PACIFIC).date().isoformat()
