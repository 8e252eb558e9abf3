"""Indonesian (and English) formats for documents: rupiah, dates, percents. Pure.

Rupiah are whole numbers: "Rp1.234.567" in Indonesian, "IDR 1,234,567" in English
(negative: "-Rp1.234"). Dates: "15 Januari 2026" / "15 January 2026".
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

MONTHS = {
    "id": [
        "Januari", "Februari", "Maret", "April", "Mei", "Juni",
        "Juli", "Agustus", "September", "Oktober", "November", "Desember",
    ],
    "en": [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ],
}  # fmt: skip


def _grouped(value: int, separator: str) -> str:
    return f"{value:,}".replace(",", separator)


def number(value: int, language: str = "id") -> str:
    """A whole number with thousands grouped: "1.234" (id), "1,234" (en)."""
    return _grouped(int(value), "." if language == "id" else ",")


def rupiah(amount: int, language: str = "id") -> str:
    """Whole rupiah: "Rp1.234.567" (id) or "IDR 1,234,567" (en)."""
    amount = int(amount)
    sign = "-" if amount < 0 else ""
    if language == "id":
        return f"{sign}Rp{_grouped(abs(amount), '.')}"
    return f"{sign}IDR {_grouped(abs(amount), ',')}"


def percent(value: Decimal | int | float, language: str = "id", places: int = 2) -> str:
    """A percent: "2,50%" (id), "2.50%" (en)."""
    text = f"{Decimal(value):.{places}f}"
    if language == "id":
        text = text.replace(".", ",")
    return f"{text}%"


def long_date(day: date, language: str = "id") -> str:
    """ "15 Januari 2026" (id) or "15 January 2026" (en)."""
    return f"{day.day} {MONTHS[language][day.month - 1]} {day.year}"


def month_label(year: int, month: int, language: str = "id") -> str:
    """ "Oktober 2026"."""
    return f"{MONTHS[language][month - 1]} {year}"


def timestamp(moment: datetime, language: str = "id") -> str:
    """ "15 Januari 2026 14.05 WIB" (the moment in Asia/Jakarta is the caller's)."""
    separator = "." if language == "id" else ":"
    return f"{long_date(moment.date(), language)} {moment:%H}{separator}{moment:%M} WIB"
