"""SKU master data for customs: HS code, country of origin, customs description, declared value and weight.

Every field is optional on a SKU: one created by an order or a stock count has none until an import gives them,
and `SkuMasterData.missing()` says which an international parcel still needs. An update names only the fields it
sets (pydantic's `model_fields_set`); the others keep what the SKU has. Writing never touches stock quantities.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from channelhub.model.limits import MAX_QUANTITY
from channelhub.model.money import CurrencyCode, DecimalAmount
from channelhub.model.orders import CountryCode, StoredSku, no_nul
from channelhub.stock.ledger import ensure_sku
from channelhub.store.sql import chunked
from channelhub.store.tables import SkuRow

# What a customs line needs, in the order a reason names them. The currency travels with the value.
CUSTOMS_FIELDS = ("hs_code", "origin_country", "customs_description", "declared_value", "weight_grams")
# The SkuRow columns an update may write (title is the SKU's own, kept beside its customs data).
WRITABLE = ("title", *CUSTOMS_FIELDS, "declared_currency")


def _hs_code(value: str) -> str:
    # Tariff numbers are often written "6912.00" or "6912 00 10": the separators carry no meaning.
    digits = value.replace(".", "").replace(" ", "")
    if not (digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 10):
        raise ValueError(f"an HS code is 6 to 10 digits (got {value[:20]!r})")
    return digits


def _not_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError(f"a declared value must not be negative (got {value})")
    return value


HsCode = Annotated[str, AfterValidator(_hs_code)]
Description = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(no_nul)]
Title = Annotated[str, Field(max_length=10_000), AfterValidator(no_nul)]
DeclaredValue = Annotated[DecimalAmount, AfterValidator(_not_negative)]
Grams = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]  # an INTEGER column


class _Fields(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: StoredSku
    title: Title | None = None
    hs_code: HsCode | None = None
    origin_country: CountryCode | None = None
    customs_description: Description | None = None
    declared_value: DeclaredValue | None = None
    declared_currency: CurrencyCode | None = None
    weight_grams: Grams | None = None


class MasterDataUpdate(_Fields):
    """What to write onto one SKU: each field given (`model_fields_set`) is checked on its own; the rules
    between fields are checked on the SKU as it will be, by `upsert_master_data`."""


class SkuMasterData(_Fields):
    """One SKU's master data, complete or partial (a None field is not known). The declared value is per unit,
    in `declared_currency`; a value without its currency (or the reverse) is refused."""

    @model_validator(mode="after")
    def _value_with_currency(self) -> SkuMasterData:
        if (self.declared_value is None) != (self.declared_currency is None):
            raise ValueError("declared_value and declared_currency go together: give both")
        return self

    def missing(self) -> tuple[str, ...]:
        """The customs fields still unknown, in CUSTOMS_FIELDS order (empty: the SKU can be declared)."""
        return tuple(name for name in CUSTOMS_FIELDS if getattr(self, name) is None)


@dataclass
class UpsertReport:
    """What `upsert_master_data` did, by position in the rows it was given."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)  # row index -> why


def upsert_master_data(session: Session, rows: Sequence[MasterDataUpdate]) -> UpsertReport:
    """Write each row's given fields (`model_fields_set`) onto its SKU, creating the SKU when new (via
    `ensure_sku`, so it has no stock until a count gives it some). Rows are applied in order, so a SKU given
    twice ends with the later row's fields over the earlier's. A row whose merge with what is stored is invalid
    (a value with no currency, for a SKU that has none) is refused with the reason; the others still apply.
    Stock levels and safety stock are never touched."""
    report = UpsertReport()
    for batch in chunked(enumerate(rows)):
        # One SELECT per chunk; a SKU this call creates joins the dict, so its next row is an update.
        wanted = sorted({row.sku for _, row in batch})
        stored = {r.sku: r for r in session.scalars(select(SkuRow).where(SkuRow.sku.in_(wanted)))}
        for index, row in batch:
            given = {name: getattr(row, name) for name in WRITABLE if name in row.model_fields_set}
            existing = stored.get(row.sku)
            try:
                merged = _merge(existing, row.sku, given)
            except ValueError as exc:
                report.refused[index] = str(exc)
                continue
            if existing is not None:
                target = existing
            else:
                target = stored[row.sku] = ensure_sku(session, row.sku, merged.title or "")
            for name in given:
                value = getattr(merged, name)
                setattr(target, name, str(value) if isinstance(value, Decimal) else value)
            (report.updated if existing is not None else report.created).append(row.sku)
    session.flush()
    return report


def _merge(existing: SkuRow | None, sku: str, given: dict[str, Any]) -> SkuMasterData:
    """The SKU's master data once `given` is written over `existing`; ValueError with pydantic's message."""
    stored = _fields_of(existing) if existing is not None else {}
    try:
        return SkuMasterData.model_validate({"sku": sku, **stored, **given})
    except ValidationError as exc:
        raise ValueError(errors_of(exc)) from None


def _fields_of(row: SkuRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in WRITABLE}
    return {name: value for name, value in values.items() if value is not None}


def master_data(session: Session, skus: Iterable[str]) -> dict[str, SkuMasterData]:
    """The stored master data of each of `skus` that exists (a SKU the hub does not know is absent: it has no
    customs data at all). Values were validated when written, and are validated again on the way out."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = session.scalars(select(SkuRow).where(SkuRow.sku.in_(wanted))).all()
    return {row.sku: SkuMasterData.model_validate({"sku": row.sku, **_fields_of(row)}) for row in rows}


def errors_of(exc: ValidationError) -> str:
    """Every problem of a refused row, one `field: message` each, joined with "; " (for import reports)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)
