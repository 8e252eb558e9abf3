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


GRADES = (1, 2, 3, 4, 5)


def unclassified_grades(rows: Sequence[AllowanceRow]) -> tuple[int, ...]:
    """Collectibility grades no class covers (a table being re-mapped: the report shows
    their outstanding apart, with no allowance, so the outstanding still adds up)."""
    covered = {grade for row in rows for grade in range(row.grade_from, row.grade_to + 1)}
    return tuple(grade for grade in GRADES if grade not in covered)


def allowance_row_errors(row: AllowanceRow, others: Sequence[AllowanceRow]) -> dict[str, list[str]]:
    """What is wrong with ``row`` in a table with ``others`` (English messages by field):
    a name of 1 to 60 characters; grades 1 to 5, from <= to, not overlapping another
    class (a grade in two classes would be allowed for twice; a grade in none is shown
    apart); a percent from 0 to 100 with at most 2 decimals; a position not taken."""
    errors: dict[str, list[str]] = {}
    if not isinstance(row.name, str) or not row.name.strip() or len(row.name.strip()) > 60:
        errors["name"] = ["A name of 1 to 60 characters is needed."]
    if not (1 <= row.grade_from <= row.grade_to <= 5):
        errors["grade_to"] = ["Grades run from 1 to 5, the first not above the last."]
    else:
        for other in others:
            if row.grade_from <= other.grade_to and other.grade_from <= row.grade_to:
                errors["grade_from"] = [
                    f"Grades {row.grade_from}-{row.grade_to} overlap the class {other.name} "
                    f"({other.grade_from}-{other.grade_to})."
                ]
                break
    try:
        percent = Decimal(row.percent)
        valid = percent.is_finite() and 0 <= percent <= 100 and (percent * 100) == (percent * 100).to_integral_value()
    except (ArithmeticError, TypeError, ValueError):
        valid = False
    if isinstance(row.percent, float) or not valid:
        errors["percent"] = ["A percent from 0 to 100 with at most 2 decimals."]
    if any(other.position == row.position for other in others):
        errors["position"] = ["Another class has this position."]
    return errors
