"""Cell values: the checks the parser runs on every row and the conversions the mapper applies, one definition.

Each `parse_*` raises ValueError with a message fit to follow "line 7: column 'quantity' ".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation

from channelhub.model.money import ISO_4217_CODES


def parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number") from None


def parse_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_currency(text: str) -> str:
    code = text.strip().upper()
    if code not in ISO_4217_CODES:
        raise ValueError(f"{text!r} is not an ISO 4217 currency code")
    return code


def parse_datetime(text: str, formats: Sequence[str] = (), zone: tzinfo = UTC) -> datetime:
    """ISO 8601 first (2026-11-20T08:15:00+00:00, ...Z, 2026-11-20), then each of `formats`. A value without a
    zone is read in `zone`. The result is aware UTC."""
    value: datetime | None = None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        for fmt in formats:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        tried = ", ".join(["ISO 8601", *formats])
        raise ValueError(f"{text!r} is not a date ({tried})")
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def check_datetime(text: str, formats: Sequence[str] = (), zone: tzinfo = UTC) -> None:
    """parse_datetime's check alone: ISO 8601 values (nearly all of them) pass without conversion."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        parse_datetime(text, formats, zone)


def checker(kind: str, formats: Sequence[str] = (), zone: tzinfo = UTC) -> Callable[[str], object] | None:
    """The check for a field type, or None for plain text (which needs none)."""
    if kind == "int":
        return parse_int
    if kind == "decimal":
        return parse_decimal
    if kind == "currency":
        return parse_currency
    if kind == "datetime":
        return lambda text: check_datetime(text, formats, zone)
    return None
