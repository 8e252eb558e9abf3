"""Reads for the city's books (reports/kinds/city_books.py): the allowance for
uncollectible revolving-fund amounts (penyisihan dana bergulir tidak tertagih) at the
period's end, by the city's allowance classes (``AllowanceClass``, the manager's table,
apart from the banks' provision tables). The fund's flows come from
:mod:`reports.selectors.fund`.

**The day.** The allowance is taken at the last closed business date of the period (on
or before its last day): the loans' collectibility and outstanding principal as that
close left them (their ``LoanSnapshot`` rows, rewritten by a backdated repayment or a
reversal). Written-off loans are out of the book and carry no allowance.

**Rounding.** A class's allowance is its outstanding principal x its percent / 100,
rounded half up to whole rupiah once per class per bank
(:func:`reports.allowance.allowance_amount`); all banks' allowance of a class is the
sum of the banks' (so all banks = the sum of the banks, to the rupiah). Net realizable
value = outstanding - allowance.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Max, Sum

from loans.models import CloseRun, LoanSnapshot
from reports.allowance import DEFAULT_ALLOWANCE, GRADES, AllowanceRow, allowance_by_class, unclassified_grades
from reports.models import AllowanceClass
from reports.periods import Period


def allowance_table() -> tuple[AllowanceRow, ...]:
    """The city's allowance classes as stored, by position (the default table when none
    is stored)."""
    rows = tuple(
        AllowanceRow(row.position, row.name, row.grade_from, row.grade_to, Decimal(row.percent))
        for row in AllowanceClass.objects.order_by("position")
    )
    return rows or DEFAULT_ALLOWANCE


def allowance_day(period: Period) -> date | None:
    """The last closed business date within ``period`` (None: no close ran in it)."""
    day: date | None = CloseRun.objects.filter(
        status=CloseRun.Status.DONE, business_date__gte=period.start, business_date__lte=period.end
    ).aggregate(day=Max("business_date"))["day"]
    return day


@dataclass(frozen=True)
class AllowanceLine:
    row: AllowanceRow | None  # None: grades in no class (no allowance)
    grades: tuple[int, ...]
    outstanding: int
    allowance: int

    @property
    def percent(self) -> Decimal:
        return self.row.percent if self.row else Decimal(0)


@dataclass(frozen=True)
class Allowance:
    """The allowance of one bank (or all banks) at ``day``."""

    day: date | None
    lines: tuple[AllowanceLine, ...]

    @property
    def outstanding(self) -> int:
        return sum(line.outstanding for line in self.lines)

    @property
    def allowance(self) -> int:
        return sum(line.allowance for line in self.lines)

    @property
    def net_realizable_value(self) -> int:
        """Outstanding principal less the allowance."""
        return self.outstanding - self.allowance


def _lines(rows: tuple[AllowanceRow, ...], by_grade: dict[int, int]) -> tuple[AllowanceLine, ...]:
    lines = [
        AllowanceLine(row, tuple(range(row.grade_from, row.grade_to + 1)), outstanding, amount)
        for row, outstanding, amount in allowance_by_class(rows, by_grade)
    ]
    missing = unclassified_grades(rows)
    if missing:
        lines.append(AllowanceLine(None, missing, sum(by_grade.get(grade, 0) for grade in missing), 0))
    return tuple(lines)


def allowance_by_bank(*, day: date | None, bank_ids: Iterable[int]) -> dict[int, Allowance]:
    """Each bank's allowance at the close of ``day`` (all zero when None). One grouped
    query on the snapshots and one for the table."""
    ids = list(bank_ids)
    rows = allowance_table()
    by_bank: dict[int, dict[int, int]] = {bank: dict.fromkeys(GRADES, 0) for bank in ids}
    if day is not None:
        for bank, grade, total in (
            LoanSnapshot.objects.filter(business_date=day, bank_id__in=ids)
            .values("bank_id", "collectibility")
            .annotate(total=Sum("outstanding_principal"))
            .values_list("bank_id", "collectibility", "total")
            .order_by()
        ):
            by_bank[int(bank)][int(grade)] = int(total or 0)
    return {bank: Allowance(day, _lines(rows, grades)) for bank, grades in by_bank.items()}


def allowance_total(allowances: Iterable[Allowance], *, day: date | None) -> Allowance:
    """All banks together: each line's outstanding and allowance summed over the banks."""
    items = list(allowances)
    if not items:
        return Allowance(day, _lines(allowance_table(), {}))
    first = items[0].lines
    lines = tuple(
        AllowanceLine(
            line.row,
            line.grades,
            sum(item.lines[index].outstanding for item in items),
            sum(item.lines[index].allowance for item in items),
        )
        for index, line in enumerate(first)
    )
    return Allowance(day, lines)
