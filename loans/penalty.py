"""The late-payment penalty (denda): which days an installment is charged for and what
one charge adds. Pure Python, no Django. The nightly close charges it set-based in SQL
(``loans/services/close/sql.py``, ``CloseSql.charge_penalties``), the twin of
:func:`penalty_days` and :func:`penalty_after` (proven equal in
``tests/loans/test_rule_twins.py``).

A product charges ``rate`` percent a day of what is unpaid of an installment's
principal and interest (``installment - principal_paid - interest_paid -
interest_waived``), after ``grace_days`` past its due date. One charge covers the days
from where the last one stopped (``penalty_through``, or the end of the grace) to the
business date and is **rounded half up to whole rupiah once per charge**. With a cap
(percent of the installment, rounded down to whole rupiah) the penalty never passes
it, and never falls below what was already charged.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from loans.money import HALF_UP, RATE_SCALE, div_round

#: ``percent units x rupiah`` divided by this is rupiah (1/10,000 percent of 1/100).
UNITS_PER_WHOLE = RATE_SCALE * 100


def percent_units(percent: Decimal) -> int:
    """A stored percent (at most 4 decimals) in 1/10,000 percent, exactly."""
    return int(percent * RATE_SCALE)


def penalty_days(*, on: date, due_date: date, grace_days: int, penalty_through: date | None) -> int:
    """The days a close of ``on`` charges an installment still open (not paid) for: from
    the later of ``penalty_through`` and the grace's end (``due_date + grace_days``) to
    ``on``; 0 when the grace has not ended before ``on`` or it was charged through
    ``on`` already."""
    grace_end = due_date + timedelta(days=grace_days)
    if not (due_date < on and grace_end < on) or (penalty_through is not None and penalty_through >= on):
        return 0
    start = grace_end if penalty_through is None else max(penalty_through, grace_end)
    return (on - start).days


def penalty_charge(*, rate_percent_per_day: Decimal, base: int, days: int) -> int:
    """One charge in rupiah: ``rate / 100 x base x days``, rounded half up once."""
    return div_round(percent_units(rate_percent_per_day) * base * days, UNITS_PER_WHOLE, HALF_UP)


def penalty_after(
    *,
    rate_percent_per_day: Decimal,
    base: int,
    days: int,
    penalty_so_far: int,
    cap_percent: Decimal | None,
    installment: int,
) -> int:
    """The installment's penalty after one charge of ``days`` days on ``base`` rupiah
    unpaid: ``penalty_so_far`` plus :func:`penalty_charge`, at most the cap
    (``floor(cap_percent / 100 x installment)``) when the product sets one, and never
    below ``penalty_so_far``."""
    charged = penalty_so_far + penalty_charge(rate_percent_per_day=rate_percent_per_day, base=base, days=days)
    if cap_percent is not None:
        charged = min(charged, percent_units(cap_percent) * installment // UNITS_PER_WHOLE)
    return max(penalty_so_far, charged)
