"""Report periods: a month ("2026-10"), a quarter ("2026-Q3") or a year ("2026"). Pure."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from reports.formats import MONTHS

_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?$")
QUARTER_NAMES = {"id": "Triwulan", "en": "Quarter"}
FIRST_YEAR = 2017
LAST_YEAR = 2200


class PeriodError(ValueError):
    """Not a period this system knows. ``reason`` says which rule it breaks (``form``,
    ``year`` or ``month``), for a caller that words the message in the user's language."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Period:
    code: str
    start: date
    end: date

    @property
    def kind(self) -> str:
        """``month``, ``quarter`` or ``year``."""
        if "Q" in self.code:
            return "quarter"
        return "month" if "-" in self.code else "year"

    def label(self, language: str = "id") -> str:
        """ "Oktober 2026", "Triwulan III 2026", "2026"."""
        if self.kind == "month":
            return f"{MONTHS[language][self.start.month - 1]} {self.start.year}"
        if self.kind == "quarter":
            roman = ["I", "II", "III", "IV"][(self.start.month - 1) // 3]
            return f"{QUARTER_NAMES[language]} {roman} {self.start.year}"
        return str(self.start.year)

    def previous(self) -> Period:
        """The period of the same kind just before this one."""
        if self.kind == "month":
            year, month = (self.start.year, self.start.month - 1) if self.start.month > 1 else (self.start.year - 1, 12)
            return month_period(year, month)
        if self.kind == "quarter":
            quarter = (self.start.month - 1) // 3
            return parse_period(f"{self.start.year}-Q{quarter}" if quarter else f"{self.start.year - 1}-Q4")
        return parse_period(str(self.start.year - 1))

    def months(self) -> list[Period]:
        """The months of this period, in order."""
        return [month_period(self.start.year, month) for month in range(self.start.month, self.end.month + 1)]


def month_period(year: int, month: int) -> Period:
    last = calendar.monthrange(year, month)[1]
    return Period(code=f"{year:04d}-{month:02d}", start=date(year, month, 1), end=date(year, month, last))


def parse_period(code: str) -> Period:
    """The period ``code`` names. Raises :class:`PeriodError` for anything else (a
    month 13, a year outside 2017-2200, "2026-Q5", "Oct 2026")."""
    match = _PATTERN.match(code) if isinstance(code, str) else None
    if not match:
        raise PeriodError("Use a month (2026-10), a quarter (2026-Q3) or a year (2026).", reason="form")
    year = int(match["year"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(f"The year must be between {FIRST_YEAR} and {LAST_YEAR}.", reason="year")
    if match["month"]:
        month = int(match["month"])
        if not 1 <= month <= 12:
            raise PeriodError("The month must be 01 to 12.", reason="month")
        return month_period(year, month)
    if match["quarter"]:
        quarter = int(match["quarter"])
        first = 3 * quarter - 2
        return Period(
            code=f"{year}-Q{quarter}",
            start=date(year, first, 1),
            end=date(year, first + 2, calendar.monthrange(year, first + 2)[1]),
        )
    return Period(code=str(year), start=date(year, 1, 1), end=date(year, 12, 31))
