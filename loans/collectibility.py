"""Collectibility (kolektibilitas): the default tables and the pure rule that classes
a loan by its days past due. No Django import: the migration that loads the defaults,
the nightly close and the tests all use it.

A table is five rows ``(grade, name, min_days, provision_percent)``: a loan is in the
highest grade whose ``min_days`` its days past due reach (:func:`grade_for`), unless a
deferral holds its class (:func:`collectibility_on`). The nightly close applies the
same rule as a SQL CASE (``loans/services/close/sql.py``, ``CloseSql.figures``),
proven equal in ``tests/loans/test_rule_twins.py``. Commercial banks follow OJK
(class 2 from 1 day late); rural banks (BPR) keep class 1 up to 30 days late. The BPR
boundaries above 90 days are the programme's working assumption (DOMAIN.md), which is
why the tables are data a programme manager can edit, not code.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import NamedTuple

COMMERCIAL = "commercial"
BPR = "bpr"
#: Classes 3 to 5 are non-performing (NPL).
NPL_FROM_GRADE = 3
#: Days past due above which a loan counts in PAR30.
PAR_DAYS = 30


class Grade(NamedTuple):
    grade: int
    name: str
    min_days: int
    provision_percent: Decimal


NAMES = {
    1: "Lancar",
    2: "Dalam Perhatian Khusus",
    3: "Kurang Lancar",
    4: "Diragukan",
    5: "Macet",
}

DEFAULT_TABLES: dict[str, tuple[Grade, ...]] = {
    COMMERCIAL: (
        Grade(1, NAMES[1], 0, Decimal("1")),
        Grade(2, NAMES[2], 1, Decimal("5")),
        Grade(3, NAMES[3], 91, Decimal("15")),
        Grade(4, NAMES[4], 121, Decimal("50")),
        Grade(5, NAMES[5], 181, Decimal("100")),
    ),
    BPR: (
        Grade(1, NAMES[1], 0, Decimal("0.5")),
        Grade(2, NAMES[2], 31, Decimal("3")),
        Grade(3, NAMES[3], 91, Decimal("10")),
        Grade(4, NAMES[4], 121, Decimal("50")),
        Grade(5, NAMES[5], 181, Decimal("100")),
    ),
}


class TableError(ValueError):
    """A table that cannot class every loan: ``field`` names what is wrong."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def validate_table(rows: Sequence[Grade]) -> None:
    """Raise :class:`TableError` unless ``rows`` are grades 1 to 5 in order, grade 1
    from 0 days and each grade starting later than the one before."""
    if [row.grade for row in rows] != [1, 2, 3, 4, 5]:
        raise TableError("A table has exactly the grades 1 to 5, in order.", "grades")
    if rows[0].min_days != 0:
        raise TableError("Grade 1 starts at 0 days past due.", "min_days")
    for before, after in itertools.pairwise(rows):
        if after.min_days <= before.min_days:
            raise TableError(f"Grade {after.grade} must start later than grade {before.grade}.", "min_days")
    for row in rows:
        if not Decimal(0) <= row.provision_percent <= Decimal(100):
            raise TableError("A provision rate is between 0 and 100 percent.", "provision_percent")


def grade_for(days_past_due: int, rows: Sequence[Grade]) -> int:
    """The grade of a loan ``days_past_due`` late under the table ``rows``."""
    grade = 1
    for row in rows:
        if days_past_due >= row.min_days:
            grade = row.grade
    return grade


def held_on(*, hold: int | None, hold_until: date | None, on: date) -> bool:
    """Whether a deferral's held class (``hold``, kept through ``hold_until``) applies on ``on``."""
    return hold is not None and hold_until is not None and on <= hold_until


def collectibility_on(
    *, days_past_due: int, rows: Sequence[Grade], hold: int | None, hold_until: date | None, on: date
) -> int:
    """A loan's class on ``on``: the class a deferral holds while it holds
    (:func:`held_on`), else :func:`grade_for` its days past due under the table ``rows``
    of its bank's kind."""
    if hold is not None and held_on(hold=hold, hold_until=hold_until, on=on):
        return hold
    return grade_for(days_past_due, rows)
