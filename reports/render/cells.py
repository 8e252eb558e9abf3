"""A cell's text by its column's kind (the PDF shows formatted values; CSV and XLSX
keep raw ones). Pure."""

from __future__ import annotations

from collections.abc import Callable
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


def cell_formatter(kind: ValueKind, language: str) -> Callable[[Cell], str]:
    """:func:`cell_text` for one column, chosen once for the column instead of per cell:
    the same text for every value. The column's usual type (an int of a rupiah or int
    column, a Decimal percent, a date, a str) is formatted straight away; repeated
    percents and dates are remembered; anything else goes through :func:`cell_text`."""
    separator = "." if language == "id" else ","

    def other(value: Cell) -> str:
        return cell_text(value, kind, language)

    if kind == "rupiah":
        prefix = "Rp" if language == "id" else "IDR "

        def rupiah(value: Cell) -> str:
            if type(value) is int:
                grouped = f"{value:,}" if value >= 0 else f"{-value:,}"
                if separator != ",":
                    grouped = grouped.replace(",", separator)
                return f"{prefix}{grouped}" if value >= 0 else f"-{prefix}{grouped}"
            return other(value)

        return rupiah
    if kind == "int":

        def number(value: Cell) -> str:
            if type(value) is int:
                return f"{value:,}".replace(",", separator) if separator != "," else f"{value:,}"
            return other(value)

        return number
    remembered: dict[Cell, str] = {}
    usual: type = Decimal if kind == "percent" else date if kind == "date" else str
    if usual is str:

        def text(value: Cell) -> str:
            return value if type(value) is str else other(value)

        return text

    def cached(value: Cell) -> str:
        if type(value) is not usual:
            return other(value)
        shown = remembered.get(value)
        if shown is None:
            shown = remembered[value] = other(value)
        return shown

    return cached
