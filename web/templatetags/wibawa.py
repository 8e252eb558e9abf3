"""Filters for pages: rupiah, dates and percents in the active language, through the
same formats as the documents (reports/formats.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.translation import get_language

from reports import formats

register = template.Library()


def _language() -> str:
    return "en" if (get_language() or "id").startswith("en") else "id"


@register.filter
def rupiah(amount: int | None) -> str:
    """ "Rp1.234.567" (Indonesian) or "IDR 1,234,567" (English); "" for None."""
    return "" if amount is None or amount == "" else formats.rupiah(int(amount), _language())


@register.filter
def number(value: int | None) -> str:
    """ "1.234" (Indonesian) or "1,234" (English)."""
    return "" if value is None else formats.number(int(value), _language())


@register.filter
def tanggal(day: date | datetime | None) -> str:
    """ "15 Januari 2026" (Indonesian) or "15 January 2026" (English); a moment is read
    in the programme's time zone first."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    return formats.long_date(day, _language())


@register.filter
def waktu(moment: datetime | None) -> str:
    """ "15 Januari 2026 14.05 WIB": a moment in the programme's time zone."""
    if moment is None:
        return ""
    return formats.timestamp(timezone.localtime(moment), _language())


@register.filter
def persen(value: Decimal | int | float | str | None, places: int = 2) -> str:
    """ "2,50%" (Indonesian) or "2.50%" (English)."""
    return "" if value is None or value == "" else formats.percent(Decimal(str(value)), _language(), int(places))
