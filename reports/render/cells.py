"""A cell's text by its column's kind (the PDF shows formatted values; CSV and XLSX
keep raw ones). Pure."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from reports import formats
from reports.document import Cell, ValueKind


def cell_text(value: Cell, kind: ValueKind, language: str) -> str:
    """``value`` as shown in a document: rupiah "Rp1.234.567", dates "15 Januari 2026",
    percents "2,50%", whole numbers grouped; blank for None."""
    if value is None:
        return ""
    if kind == "rupiah" and isinstance(value, int | Decimal):
        return formats.rupiah(int(value), language)
    if kind == "int" and isinstance(value, int | Decimal):
        return formats.number(int(value), language)
    if kind == "percent" and isinstance(value, int | Decimal):
        return formats.percent(value, language)
    if isinstance(value, date):
        return formats.long_date(value, language)
    return str(value)


def raw_value(value: Cell) -> str | int | Decimal | date:
    """The value a machine reads back: ints, Decimals and dates as they are, blank for None."""
    return "" if value is None else value
