"""The city's allowance for uncollectible revolving-fund amounts: its default table
and the rule that turns outstanding principal by collectibility class into the
allowance. Pure (no Django)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class AllowanceRow:
    position: int
    name: str
    grade_from: int
    grade_to: int
    percent: Decimal


#: The default (a migration loads it; the manager edits it): four classes mapped from
#: collectibility classes 1 / 2-3 / 4 / 5.
DEFAULT_ALLOWANCE = (
    AllowanceRow(1, "Lancar", 1, 1, Decimal("0.5")),
    AllowanceRow(2, "Kurang Lancar", 2, 3, Decimal("10")),
    AllowanceRow(3, "Diragukan", 4, 4, Decimal("50")),
    AllowanceRow(4, "Macet", 5, 5, Decimal("100")),
)


def allowance_amount(outstanding: int, percent: Decimal) -> int:
    """The allowance for ``outstanding`` rupiah at ``percent``: whole rupiah, rounded
    half up once per class (not per loan)."""
    return int((Decimal(outstanding) * Decimal(percent) / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allowance_by_class(
    rows: Sequence[AllowanceRow], outstanding_by_grade: Mapping[int, int]
) -> list[tuple[AllowanceRow, int, int]]:
    """For each allowance class: (row, outstanding principal of its grades, allowance).
    Net realizable value is the outstanding total less the allowance total."""
    result = []
    for row in rows:
        outstanding = sum(outstanding_by_grade.get(grade, 0) for grade in range(row.grade_from, row.grade_to + 1))
        result.append((row, outstanding, allowance_amount(outstanding, row.percent)))
    return result
