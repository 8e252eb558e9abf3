"""The pure servicing rules, without a database: days past due, a loan's status, the
collectibility class with a held class, and the penalty. Their SQL twins are proven
equal to them in ``tests/loans/test_rule_twins.py``."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loans import arrears, penalty
from loans.collectibility import BPR, COMMERCIAL, DEFAULT_TABLES, collectibility_on, grade_for, held_on
from loans.models import Loan

ON = date(2026, 5, 10)


def test_days_past_due_counts_from_the_oldest_unpaid_due_date() -> None:
    assert arrears.days_past_due(ON, date(2026, 4, 10)) == 30
    assert arrears.days_past_due(ON, ON) == 0
    assert arrears.days_past_due(ON, date(2026, 6, 10)) == 0
    assert arrears.days_past_due(ON, None) == 0


def test_loan_status_is_paid_off_when_settled_else_overdue_when_late() -> None:
    assert arrears.loan_status(settled=True, days_past_due=0) == Loan.Status.PAID_OFF
    assert arrears.loan_status(settled=False, days_past_due=1) == Loan.Status.OVERDUE
    assert arrears.loan_status(settled=False, days_past_due=0) == Loan.Status.ACTIVE


def test_the_rule_statuses_are_the_models() -> None:
    assert {arrears.ACTIVE, arrears.OVERDUE, arrears.PAID_OFF} <= set(Loan.Status.values)


@pytest.mark.parametrize(
    ("kind", "days", "grade"),
    [(COMMERCIAL, 0, 1), (COMMERCIAL, 1, 2), (COMMERCIAL, 91, 3), (BPR, 30, 1), (BPR, 31, 2), (BPR, 181, 5)],
)
def test_grade_for_takes_the_highest_grade_reached(kind: str, days: int, grade: int) -> None:
    assert grade_for(days, DEFAULT_TABLES[kind]) == grade


def test_a_held_class_holds_through_its_last_day() -> None:
    table = DEFAULT_TABLES[COMMERCIAL]
    assert collectibility_on(days_past_due=200, rows=table, hold=2, hold_until=ON, on=ON) == 2
    assert collectibility_on(days_past_due=200, rows=table, hold=2, hold_until=date(2026, 5, 9), on=ON) == 5
    assert collectibility_on(days_past_due=200, rows=table, hold=None, hold_until=ON, on=ON) == 5
    assert not held_on(hold=2, hold_until=None, on=ON)


def test_penalty_days_start_after_the_grace_or_the_last_charge() -> None:
    due = date(2026, 5, 1)
    assert penalty.penalty_days(on=ON, due_date=due, grace_days=3, penalty_through=None) == 6
    assert penalty.penalty_days(on=ON, due_date=due, grace_days=3, penalty_through=date(2026, 5, 8)) == 2
    assert penalty.penalty_days(on=ON, due_date=due, grace_days=3, penalty_through=date(2026, 5, 2)) == 6
    assert penalty.penalty_days(on=ON, due_date=due, grace_days=9, penalty_through=None) == 0
    assert penalty.penalty_days(on=ON, due_date=due, grace_days=0, penalty_through=ON) == 0


def test_a_penalty_charge_rounds_half_up_once() -> None:
    # 0.05% a day of Rp1,030,000 for 1 day is Rp515 exactly; for 3 days Rp1,545.
    assert penalty.penalty_charge(rate_percent_per_day=Decimal("0.05"), base=1_030_000, days=3) == 1_545
    # 0.0333% of Rp1,500 is Rp0.4995 (down); of Rp1,502 Rp0.5002 (up).
    assert penalty.penalty_charge(rate_percent_per_day=Decimal("0.0333"), base=1_500, days=1) == 0
    assert penalty.penalty_charge(rate_percent_per_day=Decimal("0.0333"), base=1_502, days=1) == 1


def test_the_cap_bounds_the_penalty_but_never_takes_back() -> None:
    def after(so_far: int, cap: Decimal | None) -> int:
        return penalty.penalty_after(
            rate_percent_per_day=Decimal("1"),
            base=1_000_000,
            days=10,
            penalty_so_far=so_far,
            cap_percent=cap,
            installment=1_000_000,
        )

    assert after(0, None) == 100_000
    assert after(0, Decimal("5")) == 50_000
    assert after(60_000, Decimal("5")) == 60_000


@given(
    rate=st.decimals(Decimal("0.0001"), Decimal("5"), places=4),
    base=st.integers(0, 10**9),
    days=st.integers(1, 400),
    so_far=st.integers(0, 10**8),
    cap=st.one_of(st.none(), st.decimals(Decimal(0), Decimal(100), places=4)),
)
def test_a_charge_is_the_exact_amount_rounded_and_capped(
    rate: Decimal, base: int, days: int, so_far: int, cap: Decimal | None
) -> None:
    exact = rate / 100 * base * days
    charge = penalty.penalty_charge(rate_percent_per_day=rate, base=base, days=days)
    assert abs(charge - exact) <= Decimal("0.5")
    after = penalty.penalty_after(
        rate_percent_per_day=rate, base=base, days=days, penalty_so_far=so_far, cap_percent=cap, installment=base
    )
    assert after >= so_far
    if cap is None:
        assert after == so_far + charge
    else:
        assert after == max(so_far, min(so_far + charge, int(cap / 100 * base)))
